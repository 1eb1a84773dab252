package memory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/conformance"
)

// Connector talks to a Tracker. It is safe for concurrent use.
type Connector struct {
	tr      *Tracker
	id      string
	user    string
	secret  string
	scheme  connectors.LabelScheme
	overlap time.Duration
	baseURL string
	now     func() time.Time
	log     *slog.Logger
	closed  atomic.Bool

	mu   sync.Mutex
	rate connectors.RateState
}

var _ connectors.Connector = (*Connector)(nil)

var errClosed = errors.New("connector is closed")

// New returns a connector on tr. cfg.ID is required. cfg.URL, when set, is
// the base of item URLs; cfg.User names the author of comments the
// connector writes (default "pmsync"); cfg.Labels overrides the GitHub
// label scheme; cfg.Now is used to interpret Retry-After (wire it to
// tr.Now).
func New(tr *Tracker, cfg connectors.Config) (*Connector, error) {
	if tr == nil {
		return nil, errors.New("memory: tracker is nil")
	}
	if cfg.ID == "" {
		return nil, errors.New("memory: config: tracker id is empty")
	}
	base := defaultTrackerURL + "/" + url.PathEscape(tr.name)
	if cfg.URL != "" {
		u, err := url.Parse(cfg.URL)
		if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("memory: config: tracker %s: url is not an absolute http(s) URL", cfg.ID)
		}
		base = strings.TrimRight(cfg.URL, "/")
	}
	user := cfg.User
	if user == "" {
		user = "pmsync"
	}
	return &Connector{
		tr: tr, id: cfg.ID, user: user, secret: cfg.WebhookSecret,
		scheme:  cfg.Labels.Merge(connectors.DefaultGitHubLabels()),
		overlap: cfg.OverlapOrDefault(), baseURL: base, now: cfg.Clock(),
		log:  cfg.Log().With("tracker", cfg.ID, "kind", "memory"),
		rate: connectors.RateState{Remaining: -1},
	}, nil
}

// Factory builds a connector for the "memory" kind: on the shared tracker
// named cfg.Project (see Shared), or on a fresh private tracker, with a
// real-time clock, when Project is empty.
func Factory(cfg connectors.Config) (connectors.Connector, error) {
	var tr *Tracker
	if cfg.Project != "" {
		tr = Shared(cfg.Project)
	} else {
		tr = NewTracker(Options{Name: cfg.ID, Now: cfg.Clock()})
	}
	return New(tr, cfg)
}

// Tracker returns the tracker the connector talks to.
func (c *Connector) Tracker() *Tracker { return c.tr }

// Kind returns "memory".
func (c *Connector) Kind() string { return "memory" }

// Close makes every later call fail. It is safe to call twice.
func (c *Connector) Close() error {
	c.closed.Store(true)
	return nil
}

// RateLimit reports the budget the tracker announced on the last answer.
func (c *Connector) RateLimit() connectors.RateState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rate
}

// do sends one request and records the rate-limit state of the answer.
func (c *Connector) do(ctx context.Context, rq request, h func(now time.Time) error) error {
	if c.closed.Load() {
		return connectors.Errorf(connectors.CodeInvalid, rq.what, errClosed)
	}
	now := c.now()
	c.mu.Lock()
	until := c.rate.BlockedUntil
	c.mu.Unlock()
	if now.Before(until) { // the tracker asked to wait: nothing is sent
		return connectors.Held(rq.what, until, now)
	}
	ans, err := c.tr.serve(ctx, rq, h)
	c.mu.Lock()
	if ans.limit > 0 {
		c.rate.Limit, c.rate.Remaining, c.rate.Reset = ans.limit, ans.remaining, ans.reset
	}
	if ra, ok := connectors.RetryAfterOf(err); ok && connectors.CodeOf(err) == connectors.CodeRateLimited {
		c.rate.BlockedUntil = c.now().Add(ra)
	}
	c.mu.Unlock()
	if err != nil {
		c.log.Debug("request failed", "op", string(rq.op), "err", err)
	}
	return err
}

// invalid is a request refused before it is sent.
func invalid(what string, err error) error {
	return connectors.Errorf(connectors.CodeInvalid, what, err)
}

// lookupLocked returns the record for key or a 404.
func (tr *Tracker) lookupLocked(key string) (*record, error) {
	r, ok := tr.items[key]
	if !ok {
		return nil, refuse(http.StatusNotFound, "item does not exist")
	}
	return r, nil
}

func (c *Connector) item(r *record) connectors.Item {
	it := toItem(r.iss, c.scheme, c.id, c.baseURL)
	for _, n := range r.notes {
		if !n.System {
			it.CommentCount++
		}
	}
	return it
}

// Get reads one item.
func (c *Connector) Get(ctx context.Context, key string) (*connectors.Item, error) {
	var it connectors.Item
	err := c.do(ctx, request{op: conformance.OpGet, what: "memory: get item " + key}, func(time.Time) error {
		r, err := c.tr.lookupLocked(key)
		if err != nil {
			return err
		}
		it = c.item(r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &it, nil
}

// Create makes a new item carrying marker, in one request.
func (c *Connector) Create(ctx context.Context, marker string, it *connectors.Item) (*connectors.Item, error) {
	what := "memory: create item in " + c.id
	if err := validateItem(it, marker); err != nil {
		return nil, invalid(what, err)
	}
	is := fromItem(it, marker, c.scheme)
	var out connectors.Item
	err := c.do(ctx, request{op: conformance.OpCreate, write: true, what: what}, func(time.Time) error {
		out = c.item(c.tr.insertLocked(is))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Update applies p in one request. An empty patch makes no request and
// returns (nil, nil): the connector does not know the item without asking.
func (c *Connector) Update(ctx context.Context, key string, p connectors.Patch) (*connectors.Item, error) {
	what := "memory: update item " + key
	if err := validatePatch(p); err != nil {
		return nil, invalid(what, err)
	}
	if p.Empty() {
		return nil, nil
	}
	var out connectors.Item
	err := c.do(ctx, request{op: conformance.OpUpdate, write: true, what: what}, func(time.Time) error {
		r, err := c.tr.lookupLocked(key)
		if err != nil {
			return err
		}
		next := applyPatch(r.iss.clone(), p, c.scheme)
		if !sameIssue(next, r.iss) {
			r.iss = next
			c.tr.touchLocked(r)
		}
		out = c.item(r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// byUpdate orders records oldest update first.
func byUpdate(a, b *record) int {
	return cmp.Or(a.iss.UpdatedAt.Compare(b.iss.UpdatedAt), cmp.Compare(a.seq, b.seq))
}

// after reports whether r comes after the keyset position (t, seq).
func after(r *record, t time.Time, seq int64) bool {
	if c := r.iss.UpdatedAt.Compare(t); c != 0 {
		return c > 0
	}
	return r.seq > seq
}

// listPage is one listing request: items updated at or after since and
// after the keyset position, oldest first, at most one page.
func (c *Connector) listPage(ctx context.Context, since, posT time.Time, posSeq int64) (page []connectors.Item, last *record, more bool, now time.Time, err error) {
	err = c.do(ctx, request{op: conformance.OpList, what: "memory: list changed items in " + c.id}, func(t time.Time) error {
		now = t
		var recs []*record
		for _, r := range c.tr.items {
			if !r.iss.UpdatedAt.Before(since) && after(r, posT, posSeq) {
				recs = append(recs, r)
			}
		}
		slices.SortFunc(recs, byUpdate)
		if len(recs) > c.tr.pageSize {
			recs, more = recs[:c.tr.pageSize], true
		}
		for _, r := range recs {
			page = append(page, c.item(r))
		}
		if len(recs) > 0 {
			cp := *recs[len(recs)-1]
			last = &cp
		}
		return nil
	})
	return page, last, more, now, err
}
