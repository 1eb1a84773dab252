package jira

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/connectors/jira/jirafake"
)

// lostCreate sets up what FindByMarker is for on Cloud: others' issues, a
// create with marker whose answer is lost (committed or not), then more
// issues created through the connector, so that the lost one is below the
// highest key the connector knows, and the search index lags all of it.
func lostCreate(t *testing.T, e *env, marker string, committed bool) {
	t.Helper()
	for i := range 5 {
		if _, err := e.fake.CreateIssue("", jirafake.IssueInput{Summary: ptrTo(fmt.Sprintf("a person's issue %d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	e.fake.Inject(conformance.Fault{Op: conformance.OpCreate, Status: 502, AfterCommit: committed})
	if _, err := e.c.Create(ctxT(t), marker, &connectors.Item{Title: "the mirror"}); err == nil {
		t.Fatal("Create with a lost answer: got no error")
	}
	for i := range 3 {
		e.create(t, connectors.MarkerID([]byte("k"), "platform", fmt.Sprint(i), "other"), "another mirror")
	}
}

// TestFindByMarkerResumes: each FindByMarker call that fails midway keeps
// what it learned, so the next call sends only the requests still needed
// (the hostile test's lost Jira Cloud mirror: a find of many requests that
// all had to succeed in one call never did). A failed read never counts as
// an absent issue.
func TestFindByMarkerResumes(t *testing.T) {
	marker := connectors.MarkerID([]byte("k"), "platform", "10001", "globex")
	for _, committed := range []bool{true, false} {
		e := newEnv(t, jirafake.Options{Flavor: jirafake.Cloud, SearchLag: 90 * time.Second}, nil)
		lostCreate(t, e, marker, committed)
		hint := connectors.FindHint{CreatedAfter: e.fake.Now().Add(-10 * time.Minute)}
		var failGet bool
		e.rec.mu.Lock()
		e.rec.after = func(r recorded) { // fail the read that follows the bulk fetch
			if failGet && strings.HasSuffix(r.Path, "/bulkfetch") {
				e.fake.Inject(conformance.Fault{Op: conformance.OpGet, Status: 503})
			}
		}
		e.rec.mu.Unlock()
		type step struct {
			fault   *conformance.Fault
			failGet bool
			want    []string // requests of the call
			wantErr error
		}
		steps := []step{
			{&conformance.Fault{Op: conformance.OpList, Status: 500}, false, []string{"POST jql"}, connectors.ErrTemporary},
			{&conformance.Fault{Op: conformance.OpGet, Status: 429, Header: http.Header{"Retry-After": {"1"}}}, false,
				[]string{"POST jql", "POST bulkfetch"}, connectors.ErrRateLimited},
		}
		if committed {
			steps = append(steps,
				step{nil, true, []string{"POST bulkfetch", "GET issue"}, connectors.ErrTemporary},
				step{nil, false, []string{"GET issue"}, nil})
		} else {
			steps = append(steps, step{nil, false, []string{"POST bulkfetch"}, connectors.ErrNotFound})
		}
		for i, s := range steps {
			if s.fault != nil {
				e.fake.Inject(*s.fault)
			}
			e.rec.mu.Lock()
			failGet = s.failGet
			e.rec.mu.Unlock()
			e.fake.Advance(2 * time.Second) // past any Retry-After of the step before
			n := e.rec.count()
			it, err := e.c.FindByMarker(ctxT(t), marker, hint)
			if reqs := sent(e.rec.since(n)); !slices.Equal(reqs, s.want) {
				t.Errorf("committed=%v call %d: sent %v, want %v", committed, i+1, reqs, s.want)
			}
			switch {
			case s.wantErr == nil && (err != nil || it.Marker != marker || it.Title != "the mirror"):
				t.Errorf("committed=%v call %d: got %+v, %v; want the lost mirror", committed, i+1, it, err)
			case s.wantErr != nil && !errors.Is(err, s.wantErr):
				t.Errorf("committed=%v call %d: got %v, want %v", committed, i+1, err, s.wantErr)
			}
		}
		// A create with the marker makes everything learned void.
		n := e.rec.count()
		e.fake.Inject(conformance.Fault{Op: conformance.OpGet, Status: 503})
		if _, err := e.c.FindByMarker(ctxT(t), marker, hint); err == nil {
			t.Fatalf("committed=%v: find with a failing bulk fetch: got no error", committed)
		}
		e.fake.Inject(conformance.Fault{Op: conformance.OpCreate, Status: 503})
		_, _ = e.c.Create(ctxT(t), marker, &connectors.Item{Title: "the mirror"})
		_, _ = e.c.FindByMarker(ctxT(t), marker, hint)
		if reqs := sent(e.rec.since(n)); len(reqs) < 4 || reqs[3] != "POST jql" {
			t.Errorf("committed=%v: after a create the find sent %v, want it to search again", committed, reqs)
		}
	}
}

// flaky is a transport in front of jirafake that fails requests at the
// hostile test's rates: 30% 5xx, 10% 429 with Retry-After, 5% reset
// before sending, and for POSTs that were answered, 10% lost answers.
type flaky struct {
	next http.RoundTripper
	mu   sync.Mutex
	rng  *rand.Rand
	on   bool
}

func (f *flaky) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	r, lose := f.rng.Float64(), f.rng.Float64() < 0.10
	on := f.on
	f.mu.Unlock()
	synth := func(status int, h http.Header) *http.Response {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		if h == nil {
			h = http.Header{}
		}
		h.Set("Content-Type", "application/json")
		return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(`{"errorMessages":["injected"]}`)), Request: req}
	}
	switch {
	case !on:
	case r < 0.30:
		return synth([]int{500, 502, 503, 504}[int(r*100)%4], nil), nil
	case r < 0.40:
		return synth(http.StatusTooManyRequests, http.Header{"Retry-After": {"2"}}), nil
	case r < 0.45:
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, syscall.ECONNRESET
	}
	resp, err := f.next.RoundTrip(req)
	if err == nil && on && req.Method == http.MethodPost && lose {
		_ = resp.Body.Close()
		return nil, syscall.ECONNRESET
	}
	return resp, err
}

// TestFindByMarkerUnderHostileFaults reproduces the hostile-remotes flake
// at the connector: after a lost create, an engine pass tries FindByMarker
// up to 5 times while 45% of requests fail. It must never answer wrongly
// (not found for an issue that exists, or another issue), and it must
// settle within a pass nearly always (before, a find needed 6 or more
// requests in one call, about 13% of passes settled, and one mirror in
// four hostile runs was never made).
func TestFindByMarkerUnderHostileFaults(t *testing.T) {
	const trials, attempts = 100, 5
	rng := rand.New(rand.NewPCG(9, 9))
	onePass, settled := 0, 0
	for trial := range trials {
		committed := trial%2 == 0
		fl := &flaky{rng: rand.New(rand.NewPCG(rng.Uint64(), 1))}
		e := newEnv(t, jirafake.Options{Flavor: jirafake.Cloud, SearchLag: 90 * time.Second}, func(cfg *connectors.Config) {
			fl.next = cfg.HTTPClient.Transport
			cfg.HTTPClient = &http.Client{Transport: fl, Timeout: 10 * time.Second}
		})
		marker := connectors.MarkerID([]byte("k"), "platform", fmt.Sprint(trial), "globex")
		lostCreate(t, e, marker, committed)
		hint := connectors.FindHint{CreatedAfter: e.fake.Now().Add(-10 * time.Minute)}
		fl.mu.Lock()
		fl.on = true
		fl.mu.Unlock()
		for call := range 3 * attempts {
			it, err := e.c.FindByMarker(ctxT(t), marker, hint)
			switch {
			case err == nil && (!committed || it.Marker != marker):
				t.Fatalf("trial %d: found %+v for a marker that %s", trial, it, map[bool]string{true: "another issue carries", false: "no issue carries"}[committed])
			case errors.Is(err, connectors.ErrNotFound) && committed:
				t.Fatalf("trial %d call %d: not found, but the lost create made the issue", trial, call+1)
			case err != nil && !errors.Is(err, connectors.ErrNotFound) && !connectors.Retryable(err):
				t.Fatalf("trial %d: a fault gave a final error: %v", trial, err)
			case err != nil && !errors.Is(err, connectors.ErrNotFound):
				e.fake.Advance(2 * time.Second) // the engine waits out the Retry-After
				continue
			}
			settled++
			if call < attempts {
				onePass++
			}
			break
		}
	}
	t.Logf("%d of %d finds settled within one pass of %d attempts, %d within three", onePass, trials, attempts, settled)
	if settled != trials {
		t.Errorf("finds settled within three passes: %d of %d, want all", settled, trials)
	}
	if onePass < trials*7/10 {
		t.Errorf("finds settled within one pass: %d of %d, want at least 70%%", onePass, trials)
	}
}
