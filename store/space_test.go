package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fillUntilFull writes links with a summary of size bytes until ErrNoSpace
// and returns how many landed and the link that was refused.
func fillUntilFull(t *testing.T, db *DB, customer string, size int) (int, *Link) {
	t.Helper()
	for i := 0; i < 100000; i++ {
		l := testLink(customer, i)
		l.Platform.Base.Summary = strings.Repeat("s", size)
		err := db.PutLink(l)
		if errors.Is(err, ErrNoSpace) {
			return i, l
		}
		if err != nil {
			t.Fatalf("PutLink %d: %v", i, err)
		}
	}
	t.Fatalf("no ErrNoSpace after 100000 links")
	return 0, nil
}

func TestNoSpaceAndRecovery(t *testing.T) {
	tests := []struct {
		name    string
		maxSize int64
		summary int // bytes per link beyond the fixed fields
	}{
		{"128KiB small links", 128 << 10, 100},
		{"200KiB small links", 200 << 10, 100},
		{"256KiB page-sized links", 256 << 10, 3000},
		{"1MiB overflow links", 1 << 20, 10000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "pmsync.db")
			db := openAt(t, path, Options{MaxSize: tt.maxSize, NoSync: true})
			defer db.Close()
			n, refused := fillUntilFull(t, db, "acme", tt.summary)
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Size() > tt.maxSize {
				t.Errorf("file is %d bytes after ErrNoSpace; want at most MaxSize %d", fi.Size(), tt.maxSize)
			}
			if n == 0 {
				t.Errorf("no link fit under MaxSize %d", tt.maxSize)
			}
			t.Logf("%d links in %d bytes (limit %d)", n, fi.Size(), tt.maxSize)
			// Nothing of the refused write is there.
			if _, err := db.Link("acme", refused.ID); !errors.Is(err, ErrNotFound) {
				t.Errorf("refused link: Link = %v; want ErrNotFound", err)
			}
			if got, _ := db.LinksByRef(refused.Platform.Ref); len(got) != 0 {
				t.Errorf("refused link is in the ref index: %v", linkIDs(got))
			}
			if s := db.Stats(); s.Links != n || s.Refs != 2*n {
				t.Errorf("Stats = %d links, %d refs; want %d, %d", s.Links, s.Refs, n, 2*n)
			}
			// Larger writes are refused too, and reads go on.
			if err := db.Audit(AuditEvent{Customer: "acme", Action: "big", Detail: strings.Repeat("d", int(tt.maxSize))}); !errors.Is(err, ErrNoSpace) {
				t.Errorf("Audit of a MaxSize-long event = %v; want ErrNoSpace", err)
			}
			if err := db.Check(); err != nil {
				t.Errorf("Check while full: %v", err)
			}
			// Space returns: writes continue without reopening.
			db.SetMaxSize(4 * tt.maxSize)
			if err := db.PutLink(refused); err != nil {
				t.Fatalf("PutLink after raising the limit: %v", err)
			}
			if _, err := db.RecordDelivery("acme", "d", time.Hour); err != nil {
				t.Errorf("RecordDelivery after raising the limit: %v", err)
			}
			if s := db.Stats(); s.Links != n+1 {
				t.Errorf("links after recovery = %d; want %d", s.Links, n+1)
			}
			if err := db.Check(); err != nil {
				t.Errorf("Check after recovery: %v", err)
			}
		})
	}
}

// Concurrent writers sharing a batch when the limit is hit: each write
// either lands whole or fails with ErrNoSpace and leaves nothing.
func TestNoSpaceInBatches(t *testing.T) {
	db := openTest(t, Options{MaxSize: 128 << 10, NoSync: true})
	const workers, perWorker = 8, 60
	var (
		wg sync.WaitGroup
		mu sync.Mutex
		ok = map[string]bool{}
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				l := testLink("acme", w*perWorker+i)
				l.Platform.Base.Summary = strings.Repeat("x", 400)
				err := db.PutLink(l)
				if err != nil && !errors.Is(err, ErrNoSpace) {
					t.Errorf("PutLink: %v", err)
					return
				}
				mu.Lock()
				ok[l.ID] = err == nil
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	landed := 0
	for id, want := range ok {
		_, err := db.Link("acme", id)
		if want && err != nil {
			t.Errorf("link %s was acknowledged but is missing: %v", id, err)
		}
		if !want && !errors.Is(err, ErrNotFound) {
			t.Errorf("link %s was refused but is there (err %v)", id, err)
		}
		if want {
			landed++
		}
	}
	if landed == 0 || landed == len(ok) {
		t.Errorf("%d of %d links landed; want some but not all", landed, len(ok))
	}
	if err := db.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
}

func TestProjectFile(t *testing.T) {
	const ps, alloc = 4096, 16 << 20
	tests := []struct{ hw, cur, want int64 }{
		{0, 32 << 10, 32 << 10},              // fits in the file as it is
		{40 << 10, 32 << 10, 64 << 10},       // doubling
		{(1 << 20) - ps, 512 << 10, 1 << 20}, // just fits in 1 MiB with the extra page
		{1 << 20, 1 << 20, 2 << 20},
		{20 << 20, 16 << 20, 20<<20 + ps + alloc}, // past AllocSize: data plus one step
	}
	for _, tt := range tests {
		if got := projectFile(tt.hw, tt.cur, ps, alloc); got != tt.want {
			t.Errorf("projectFile(%d, %d) = %d; want %d", tt.hw, tt.cur, got, tt.want)
		}
	}
}

// A random mix of writes of random sizes, some concurrent, under a limit:
// the file never outgrows MaxSize, and what was acknowledged is there.
// PMSYNC_STORE_SEEDS raises the number of seeds.
func TestNoSpaceRandomWorkload(t *testing.T) {
	seeds := 4
	if v, err := strconv.Atoi(os.Getenv("PMSYNC_STORE_SEEDS")); err == nil {
		seeds = v
	}
	for seed := 1; seed <= seeds; seed++ {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		maxSize := int64(64<<10) << rng.IntN(6) // 64 KiB (holds nothing) .. 2 MiB
		path := filepath.Join(t.TempDir(), "pmsync.db")
		clk := newClock()
		db := openAt(t, path, Options{MaxSize: maxSize, NoSync: true, Now: clk.Now})
		acked := map[string]bool{}
		var mu sync.Mutex
		op := func(r *rand.Rand, i int) {
			customer := fmt.Sprint("c", r.IntN(3))
			var err error
			var id string
			switch r.IntN(6) {
			case 0, 1:
				l := testLink(customer, r.IntN(400))
				l.Platform.Base.Summary = strings.Repeat("s", r.IntN(12000))
				err, id = db.PutLink(l), customer+"/"+l.ID
			case 2:
				err = db.Audit(AuditEvent{Customer: customer, Action: "x", Detail: strings.Repeat("d", r.IntN(3000))})
			case 3:
				_, err = db.RecordDelivery(customer, fmt.Sprint(seed, "-", i), time.Minute)
			case 4:
				if err = db.DeleteLink(customer, testLink(customer, r.IntN(400)).ID); errors.Is(err, ErrNotFound) {
					err = nil
				}
			case 5:
				clk.Advance(30 * time.Second)
				if _, err = db.PruneDeliveries(); err == nil {
					_, err = db.PruneAudit(clk.Now().Add(-time.Minute))
				}
			}
			if err != nil && !errors.Is(err, ErrNoSpace) {
				t.Errorf("seed %d op %d: %v", seed, i, err)
			}
			if id != "" && err == nil {
				mu.Lock()
				acked[id] = true
				mu.Unlock()
			}
		}
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(seed), uint64(w)))
				for i := 0; i < 150; i++ {
					op(r, w*1000+i)
				}
			}(w)
		}
		wg.Wait()
		if fi, err := os.Stat(path); err != nil || fi.Size() > maxSize {
			t.Errorf("seed %d: file is %d bytes (err %v); want at most %d", seed, fi.Size(), err, maxSize)
		}
		if err := db.Check(); err != nil {
			t.Errorf("seed %d: Check: %v", seed, err)
		}
		db.Close()
	}
}
