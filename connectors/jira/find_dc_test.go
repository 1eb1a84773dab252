package jira

import (
	"errors"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/jira/jirafake"
)

// On Data Center the JQL index is updated by the create itself, so
// FindByMarker answers from one search: found or not, one request.
func TestFindByMarkerDataCenterIsOneSearch(t *testing.T) {
	e := newEnv(t, jirafake.Options{Flavor: jirafake.DataCenter}, nil)
	for i := 0; i < 5; i++ {
		e.create(t, "", "someone else's issue")
	}
	mine := e.create(t, "f00dfeed", "mirror")
	hint := connectors.FindHint{CreatedAfter: e.fake.Now().Add(-time.Hour)}

	before := e.rec.count()
	it, err := e.c.FindByMarker(ctxT(t), "f00dfeed", hint)
	if err != nil || it.Ref.Key != mine.Ref.Key {
		t.Fatalf("FindByMarker: got %v, %v; want %s", it, err, mine.Ref.Key)
	}
	if got := e.rec.count() - before; got != 1 {
		t.Errorf("finding an existing marker took %d requests, want 1", got)
	}

	before = e.rec.count()
	if _, err := e.c.FindByMarker(ctxT(t), "0badc0de", hint); !errors.Is(err, connectors.ErrNotFound) {
		t.Fatalf("missing marker: got %v, want ErrNotFound", err)
	}
	if got := e.rec.count() - before; got != 1 {
		t.Errorf("a missing marker took %d requests, want 1", got)
	}
}
