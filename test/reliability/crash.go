package reliability

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"

	"github.com/pmsync/pmsync/connectors"
)

// Fuse simulates the death of the process at a chosen request: the first
// n-1 requests of every connector wrapped with it pass, the n-th is carried
// out (when CarryOut) or not, and its answer is lost either way; every
// later request fails without reaching its tracker. One Fuse is shared by
// all the connectors of a world, as they share one process.
type Fuse struct {
	left     atomic.Int64
	carryOut bool
	blown    atomic.Bool
}

// NewFuse returns a fuse that blows at request n (n >= 1).
func NewFuse(n int64, carryOut bool) *Fuse {
	f := &Fuse{carryOut: carryOut}
	f.left.Store(n)
	return f
}

// Blown reports whether the fuse has blown.
func (f *Fuse) Blown() bool { return f.blown.Load() }

// errDead is the failure of every request of a dead process.
var errDead = errors.New("the process died at this request")

// take decides the fate of one request: whether it reaches the tracker,
// and whether its answer is lost.
func (f *Fuse) take() (send, lost bool) {
	switch n := f.left.Add(-1); {
	case n > 0:
		return true, false
	case n == 0:
		f.blown.Store(true)
		return f.carryOut, true
	default:
		return false, true
	}
}

// Crashing wraps c so that its requests go through fuse.
func Crashing(c connectors.Connector, fuse *Fuse) connectors.Connector {
	return &crashConn{inner: c, fuse: fuse}
}

type crashConn struct {
	inner connectors.Connector
	fuse  *Fuse
}

func dead(op string) error {
	return &connectors.Error{Code: connectors.CodeTemporary, Op: "crashed: " + op, Err: errDead}
}

// gate runs f unless the fuse says otherwise.
func (c *crashConn) gate(op string, f func() error) error {
	send, lost := c.fuse.take()
	if send {
		if err := f(); err != nil || !lost {
			return err
		}
	}
	return dead(op)
}

func (c *crashConn) Kind() string { return c.inner.Kind() }

func (c *crashConn) Get(ctx context.Context, key string) (it *connectors.Item, err error) {
	err = c.gate("get", func() error { it, err = c.inner.Get(ctx, key); return err })
	if err != nil {
		return nil, err
	}
	return it, nil
}

func (c *crashConn) Changes(ctx context.Context, cursor string) (ch *connectors.Changes, err error) {
	err = c.gate("changes", func() error { ch, err = c.inner.Changes(ctx, cursor); return err })
	if err != nil {
		return nil, err
	}
	return ch, nil
}

func (c *crashConn) Create(ctx context.Context, marker string, it *connectors.Item) (out *connectors.Item, err error) {
	err = c.gate("create", func() error { out, err = c.inner.Create(ctx, marker, it); return err })
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *crashConn) Update(ctx context.Context, key string, p connectors.Patch) (out *connectors.Item, err error) {
	err = c.gate("update", func() error { out, err = c.inner.Update(ctx, key, p); return err })
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *crashConn) FindByMarker(ctx context.Context, marker string, h connectors.FindHint) (out *connectors.Item, err error) {
	err = c.gate("find", func() error { out, err = c.inner.FindByMarker(ctx, marker, h); return err })
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *crashConn) ListComments(ctx context.Context, key string) (out []connectors.Comment, err error) {
	err = c.gate("list comments", func() error { out, err = c.inner.ListComments(ctx, key); return err })
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *crashConn) AddComment(ctx context.Context, key, marker, body string) (out *connectors.Comment, err error) {
	err = c.gate("add comment", func() error { out, err = c.inner.AddComment(ctx, key, marker, body); return err })
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *crashConn) EditComment(ctx context.Context, key, id, body string) (out *connectors.Comment, err error) {
	err = c.gate("edit comment", func() error { out, err = c.inner.EditComment(ctx, key, id, body); return err })
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *crashConn) ParseWebhook(r *http.Request, body []byte) (*connectors.WebhookEvent, error) {
	return c.inner.ParseWebhook(r, body)
}

func (c *crashConn) RateLimit() connectors.RateState { return c.inner.RateLimit() }

func (c *crashConn) Close() error { return c.inner.Close() }
