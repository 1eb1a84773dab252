package store

import (
	"fmt"
	"math"
	"os"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// Enforcing Options.MaxSize.
//
// bbolt (v1.4) has no size limit of its own, and it allocates pages only when
// a transaction commits, too late to refuse a write cleanly. So every write
// goes through a wtx that charges each put and delete with the pages it can
// make the commit allocate, and refuses the write with ErrNoSpace, before
// anything is committed, when the file that bbolt would grow to could exceed
// the limit. The transaction then rolls back as a whole: no partial state.
// Writes resume as soon as the limit is raised (SetMaxSize) or pruning frees
// pages.
//
// The estimate follows bbolt's copy-on-write commit: every node on the path
// from a bucket's root to a touched leaf is rewritten to new pages, and so
// is the path to the bucket itself in its parents (the tx root, customers,
// customers/<id>); leaves that grow split at half a page; values over half a
// page take pages of their own; the freelist is rewritten whole. Pages freed
// by earlier transactions are reused before the file grows.

// reservePages are added to every estimate, for what it does not model
// (branch splits, nodes rebalanced into a run).
const reservePages = 4

// growth is the running page estimate of one read-write transaction.
type growth struct {
	pages     int64           // single pages the commit may allocate
	runs      int64           // pages in multi-page runs (large values), which free single pages cannot hold
	charged   map[string]bool // buckets whose path is already counted, by path
	buckets   map[*bolt.Bucket]*bucketUse
	hw        int64 // high-water mark (bytes) at transaction start
	file      int64 // file size at transaction start
	freePages int64 // reusable pages at the last commit
	freelist  int64 // pages on the freelist (free + pending) at the last commit
}

// bucketUse is what one transaction did to one bucket.
type bucketUse struct {
	path    string // "watermarks", "customers/acme/links"; "" when unknown
	depth   int64  // pages from the bucket's root to a leaf; 0 for an inline bucket
	touched bool
	rooted  bool  // a new branch root is charged
	bytes   int64 // bytes added
}

// spaceMeter hands out the growth of the one read-write transaction that can
// run at a time; batched calls that share a transaction share its growth.
type spaceMeter struct {
	mu  sync.Mutex
	tx  *bolt.Tx
	g   growth
	txs int64 // read-write transactions seen
}

// wtx is a read-write transaction whose writes are charged against MaxSize.
type wtx struct {
	*bolt.Tx
	db *DB
	g  *growth
}

func (m *spaceMeter) begin(db *DB, tx *bolt.Tx) *wtx {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tx != tx {
		m.tx = tx
		m.txs++
		m.g = growth{}
	}
	return &wtx{Tx: tx, db: db, g: &m.g}
}

// writeTxs returns how many read-write transactions have run.
func (m *spaceMeter) writeTxs() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.txs
}

// sequence returns the next sequence number of b, charging the rewrite of
// b's root node that it causes.
func (w *wtx) sequence(b *bolt.Bucket) (uint64, error) {
	if err := w.charge(b, nil, 0, true); err != nil {
		return 0, err
	}
	return b.NextSequence()
}

// top returns the top-level bucket name, known to the meter by its path.
func (w *wtx) top(name []byte) *bolt.Bucket {
	b := w.Bucket(name)
	w.use(b, string(name))
	return b
}

// use records the path of b, so its ancestors are charged once per
// transaction however many of their buckets are written.
func (w *wtx) use(b *bolt.Bucket, path string) *bucketUse {
	if w.g.buckets == nil {
		w.g.buckets = map[*bolt.Bucket]*bucketUse{}
	}
	u := w.g.buckets[b]
	if u == nil {
		u = &bucketUse{path: path, depth: -1}
		w.g.buckets[b] = u
	}
	return u
}

// put stores k=v in b after charging it against the size limit.
func (w *wtx) put(b *bolt.Bucket, k, v []byte) error {
	if err := w.charge(b, k, int64(len(k)+len(v)), false); err != nil {
		return err
	}
	return b.Put(k, v)
}

// del removes k from b after charging the rewrite against the size limit.
func (w *wtx) del(b *bolt.Bucket, k []byte) error {
	if err := w.charge(b, k, int64(len(k)), true); err != nil {
		return err
	}
	return b.Delete(k)
}

// bucket returns the nested bucket name of parent (whose path is
// parentPath), creating it when missing and charging the creation.
func (w *wtx) bucket(parent *bolt.Bucket, parentPath string, name []byte) (*bolt.Bucket, error) {
	path := parentPath + "/" + string(name)
	if b := parent.Bucket(name); b != nil {
		w.use(b, path)
		return b, nil
	}
	w.use(parent, parentPath)
	if err := w.charge(parent, name, int64(len(name))+64, false); err != nil {
		return nil, err
	}
	b, err := parent.CreateBucket(name)
	if err != nil {
		return nil, err
	}
	w.use(b, path)
	return b, nil
}

func (w *wtx) charge(b *bolt.Bucket, key []byte, entry int64, isDelete bool) error {
	limit := w.db.maxSize.Load()
	if limit <= 0 {
		return nil
	}
	g := w.g
	if g.charged == nil { // the first charge of the transaction
		st := w.db.bolt.Stats()
		g.charged = map[string]bool{}
		g.hw, g.file = w.Size(), w.db.fileSize()
		g.freePages, g.freelist = int64(st.FreePageN), int64(st.FreePageN+st.PendingPageN)
	}
	ps := int64(os.Getpagesize())
	u := w.use(b, "")
	if u.depth < 0 {
		u.depth = w.depth(b)
	}
	if !u.touched {
		u.touched = true
		g.pages += u.depth + w.ancestors(u.path)
	} else {
		g.pages += min(u.depth, 2) // another leaf, and its branch, may be touched
	}
	half := ps / 2
	if !isDelete { // the leaf may split: a page for each half page added
		before := ceilDiv(u.bytes, half)
		u.bytes += entry + 16 // bbolt's element header
		g.pages += ceilDiv(u.bytes, half) - before
	}
	// A leaf holding a value over half a page is written as one run of
	// pages, together with the large values next to it (bbolt keeps at
	// least two elements a node).
	g.runs += bigNeighbours(b, key, half)
	if !isDelete && entry+16 > half {
		g.runs += ceilDiv(entry+16+half, ps)
	}
	if !isDelete && u.depth <= 1 && !u.rooted { // a split leaf root gets a branch above it
		u.rooted = true
		g.pages++
	}
	need := g.pages + reservePages
	grow := max(need-g.freePages, 0) + g.runs
	grow += (g.freelist+need+g.runs)*8/ps + 1 // the freelist, rewritten whole (as bbolt sizes it)
	hw := g.hw + grow*ps
	if f := projectFile(hw, g.file, ps, int64(w.db.bolt.AllocSize)); f > limit {
		return fmt.Errorf("%w: the write could grow %s to %d bytes, over the limit of %d", ErrNoSpace, w.db.path, f, limit)
	}
	return nil
}

// bigNeighbours returns the pages of the runs that may have to be written
// for the leaf where key goes in b. A leaf that holds a value over half a
// page is written as one run of pages, and bbolt splits no node of four
// elements or fewer, so the values within three places of key (and key's
// own old value) are counted, each with half a page of company.
func bigNeighbours(b *bolt.Bucket, key []byte, half int64) int64 {
	var n int64
	add := func(k, v []byte) bool {
		if k == nil {
			return false
		}
		if sz := int64(len(k) + len(v) + 16); sz > half {
			n += ceilDiv(sz+half, 2*half)
		}
		return true
	}
	c := b.Cursor()
	k, v := c.Seek(key)
	for i := 0; i < 4 && add(k, v); i++ {
		k, v = c.Next()
	}
	c.Seek(key)
	for i := 0; i < 3 && add(c.Prev()); i++ {
	}
	return n
}

// depth returns the pages from b's root to a leaf: 0 for an inline bucket
// (it lives in its parent's leaf), 1 for a single leaf, more for a tree (an
// upper bound from the size of the file, at 64 children a branch).
func (w *wtx) depth(b *bolt.Bucket) int64 {
	if b.Root() == 0 {
		return 0
	}
	if pi, err := w.Page(int(b.Root())); err == nil && pi != nil && pi.Type == "leaf" {
		return 1
	}
	pages := float64(max(w.g.hw/int64(os.Getpagesize()), 64))
	return 1 + int64(math.Ceil(math.Log(pages)/math.Log(64)))
}

// ancestors charges, once per transaction, the pages rewritten above a bucket
// at path: the tx root's page and, for nested buckets, the customers bucket
// and the customer's own bucket.
func (w *wtx) ancestors(path string) int64 {
	if path == "" { // unknown: assume the deepest layout
		return 1 + 2 + 1
	}
	var n int64
	charge := func(key string, pages int64) {
		if !w.g.charged[key] {
			w.g.charged[key] = true
			n += pages
		}
	}
	charge("", 1)
	if len(path) > len(bucketCustomers) && path[:len(bucketCustomers)+1] == string(bucketCustomers)+"/" {
		charge(string(bucketCustomers), max(w.depth(w.Bucket(bucketCustomers)), 1))
		rest := path[len(bucketCustomers)+1:]
		for i := 0; i < len(rest); i++ {
			if rest[i] == '/' { // customers/<id>/<sub>: the customer's bucket too
				charge(string(bucketCustomers)+"/"+rest[:i], 1)
				break
			}
		}
	}
	return n
}

// projectFile returns the file size bbolt grows to when its high-water mark
// reaches hw (after bbolt's DB.grow and DB.mmapSize): the mmap size, which
// doubles from 32 KiB, while that is at most allocSize; beyond it the data
// plus one allocSize step.
func projectFile(hw, cur, ps, allocSize int64) int64 {
	need := hw + ps
	if need <= cur {
		return cur
	}
	m := max(need, cur)
	for sz := int64(1 << 15); sz <= 1<<30; sz <<= 1 {
		if m <= sz {
			m = sz
			break
		}
	}
	if m <= allocSize {
		return m
	}
	return need + allocSize
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }
