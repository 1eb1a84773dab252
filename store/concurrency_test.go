package store

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// Eight workers write links, completed intents, audit events and deliveries
// at once; every write must land, the index must stay consistent, and the
// writes must have shared transactions (Batch), not taken one each.
func TestConcurrentWritersBatch(t *testing.T) {
	db := openTest(t, Options{})
	const workers, perWorker = 8, 40
	before := db.space.writeTxs()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			customer := fmt.Sprintf("c%d", w%3)
			for i := 0; i < perWorker; i++ {
				n := w*perWorker + i
				l := testLink(customer, n)
				var err error
				if i%2 == 0 {
					err = db.PutLink(l)
				} else {
					in := testIntent(customer, n)
					if err = db.PutIntent(in); err == nil {
						err = db.CompleteIntent(in.ID, l)
					}
				}
				if err == nil {
					err = db.Audit(AuditEvent{Customer: customer, Link: l.ID, Action: "create"})
				}
				if err == nil {
					_, err = db.RecordDelivery(customer, fmt.Sprint("d", n), time.Hour)
				}
				if err != nil {
					t.Errorf("worker %d write %d: %v", w, i, err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	total := workers * perWorker
	s := db.Stats()
	if s.Links != total || s.Refs != 2*total || s.AuditEvents != total || s.Deliveries != total || s.Intents != 0 {
		t.Errorf("Stats = %+v; want %d links, %d refs, %d audit events, %d deliveries, 0 intents", s, total, 2*total, total, total)
	}
	writes := int64(total * 7 / 2) // PutLink or PutIntent+CompleteIntent, Audit, RecordDelivery
	if txs := db.space.writeTxs() - before; txs >= writes {
		t.Errorf("%d write transactions for %d writes; want fewer (batched)", txs, writes)
	} else {
		t.Logf("%d write transactions for %d writes", txs, writes)
	}
	if err := db.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
	// Every worker's links are under its own customer, and nowhere else.
	for c := 0; c < 3; c++ {
		ls, err := db.Links(fmt.Sprintf("c%d", c))
		if err != nil {
			t.Fatalf("Links: %v", err)
		}
		for _, l := range ls {
			if l.Customer != fmt.Sprintf("c%d", c) {
				t.Errorf("Links(c%d) holds %s's link", c, l.Customer)
			}
		}
	}
}

// A backup taken while writers run is a consistent store.
func TestBackupUnderWrites(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := db.PutLink(testLink(fmt.Sprint("c", w), i)); err != nil {
					t.Errorf("PutLink: %v", err)
					return
				}
			}
		}(w)
	}
	var copies []string
	for i := 0; i < 3; i++ {
		path := t.TempDir() + "/copy.db"
		if err := backupToFile(db, path); err != nil {
			t.Fatalf("backup: %v", err)
		}
		copies = append(copies, path)
	}
	close(stop)
	wg.Wait()
	for _, p := range copies {
		cp := openAt(t, p, Options{})
		if err := cp.Check(); err != nil {
			t.Errorf("Check of a hot backup: %v", err)
		}
		cp.Close()
	}
}
