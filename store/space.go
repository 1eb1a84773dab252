package store

import (
	"fmt"
	"os"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// Enforcing Options.MaxSize.
//
// bbolt (v1.4) has no size limit of its own, and it allocates pages only when
// a transaction commits, too late to refuse a write cleanly. So every write
// goes through a wtx that charges each put and delete with the worst-case
// number of pages it can make the commit allocate, and refuses the write
// with ErrNoSpace, before anything is committed, when the file that bbolt
// would grow to could exceed the limit. The transaction then rolls back as a
// whole: no partial state. Writes resume as soon as the limit is raised
// (SetMaxSize) or pruning frees pages.

// Page-count assumptions of the worst case (pageSize = os.Getpagesize()).
const (
	pathPages  = 4  // branch pages and parent-bucket leaf rewritten per bucket touched
	putPages   = 2  // leaf rewritten plus a split per put, beyond the entry itself
	entryExtra = 16 // bbolt's per-element header
	slackPages = 2  // meta and rounding
)

// growth is the running page estimate of one read-write transaction.
type growth struct {
	pages     int64
	delBytes  int64
	buckets   map[*bolt.Bucket]bool
	hw        int64 // high-water mark at transaction start
	file      int64 // file size at transaction start
	freePages int64 // reusable pages at the last commit
	freelist  int64 // pages on the freelist (free + pending) at the last commit
}

// spaceMeter hands out the growth of the one read-write transaction that can
// run at a time; batched calls that share a transaction share its growth.
type spaceMeter struct {
	mu sync.Mutex
	tx *bolt.Tx
	g  growth
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
		st := db.bolt.Stats()
		m.g = growth{
			buckets:   map[*bolt.Bucket]bool{},
			hw:        tx.Size(),
			file:      db.fileSize(),
			freePages: int64(st.FreePageN),
			freelist:  int64(st.FreePageN + st.PendingPageN),
		}
	}
	return &wtx{Tx: tx, db: db, g: &m.g}
}

// put stores k=v in b after charging it against the size limit.
func (w *wtx) put(b *bolt.Bucket, k, v []byte) error {
	if err := w.charge(b, int64(len(k)+len(v)), false); err != nil {
		return err
	}
	return b.Put(k, v)
}

// del removes k from b after charging the rewrite against the size limit.
// vlen is the size of the value being removed (0 when unknown).
func (w *wtx) del(b *bolt.Bucket, k []byte, vlen int) error {
	if err := w.charge(b, int64(len(k)+vlen), true); err != nil {
		return err
	}
	return b.Delete(k)
}

// bucket creates (or returns) the nested bucket name of parent, charging its
// creation like a put.
func (w *wtx) bucket(parent *bolt.Bucket, name []byte) (*bolt.Bucket, error) {
	if b := parent.Bucket(name); b != nil {
		return b, nil
	}
	if err := w.charge(parent, int64(len(name))+64, false); err != nil {
		return nil, err
	}
	return parent.CreateBucket(name)
}

func (w *wtx) charge(b *bolt.Bucket, entry int64, isDelete bool) error {
	limit := w.db.maxSize.Load()
	if limit <= 0 {
		return nil
	}
	g := w.g
	ps := int64(os.Getpagesize())
	if !g.buckets[b] {
		g.buckets[b] = true
		g.pages += pathPages
	}
	if isDelete {
		g.delBytes += entry + entryExtra
	} else {
		g.pages += putPages + ceilDiv(entry+entryExtra, ps)
	}
	need := g.pages + 2*ceilDiv(g.delBytes, ps) + slackPages
	grow := max(need-g.freePages, 0)
	// The freelist is rewritten on every commit, as one contiguous run.
	grow += ceilDiv((g.freelist+need)*8+entryExtra, ps)
	hw := g.hw + grow*ps
	if f := projectFile(hw, g.file, ps, int64(w.db.bolt.AllocSize)); f > limit {
		return fmt.Errorf("%w: the write could grow %s to %d bytes, over the limit of %d", ErrNoSpace, w.db.path, f, limit)
	}
	return nil
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
