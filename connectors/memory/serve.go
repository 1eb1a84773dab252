package memory

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/conformance"
)

// request is one API request a connector makes to the tracker.
type request struct {
	op    conformance.Op
	write bool
	what  string // "memory: get item MEM-1", for error texts
}

// answer is what the tracker says besides the payload: its time and the
// rate-limit headers.
type answer struct {
	now       time.Time
	limit     int
	remaining int
	reset     time.Time
}

// statusError is how a handler refuses a request: an HTTP status and a
// message free of item text.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

func refuse(status int, msg string) error { return &statusError{status: status, msg: msg} }

// serve runs handler as the tracker would answer one API request: latency
// first (honouring ctx), then the rate-limit budget, then any injected
// fault, then the handler under the tracker's lock. The returned error is
// already classified.
func (tr *Tracker) serve(ctx context.Context, rq request, handler func(now time.Time) error) (answer, error) {
	if err := ctx.Err(); err != nil {
		return answer{}, connectors.Errorf(connectors.CodeTemporary, rq.what, err)
	}
	if d := tr.latencyFor(rq.op); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return answer{}, connectors.Errorf(connectors.CodeTemporary, rq.what, ctx.Err())
		case <-t.C:
		}
	}

	tr.mu.Lock()
	defer tr.mu.Unlock()
	now := tr.nowLocked()
	tr.requests++
	if rq.write {
		tr.writes++
	}
	ans := answer{now: now, remaining: -1}
	if tr.rateLimit > 0 {
		if tr.winStart.IsZero() || !now.Before(tr.winStart.Add(tr.rateWin)) {
			tr.winStart, tr.winUsed = now, 0
		}
		tr.winUsed++
		ans.limit, ans.reset = tr.rateLimit, tr.winStart.Add(tr.rateWin)
		ans.remaining = max(tr.rateLimit-tr.winUsed, 0)
		if tr.winUsed > tr.rateLimit {
			secs := int(math.Ceil(ans.reset.Sub(now).Seconds()))
			h := http.Header{"Retry-After": []string{strconv.Itoa(max(secs, 1))}}
			return ans, connectors.FromHTTP(rq.what, http.StatusTooManyRequests, h, now, errors.New("rate limit exceeded"))
		}
	}

	f, ok := tr.takeFaultLocked(rq.op)
	if ok && !f.AfterCommit {
		return ans, faultError(rq.what, f, now)
	}
	err := handler(now)
	if ok {
		return ans, faultError(rq.what, f, now)
	}
	if err != nil {
		var se *statusError
		if errors.As(err, &se) {
			return ans, connectors.FromHTTP(rq.what, se.status, nil, now, errors.New(se.msg))
		}
		return ans, connectors.Errorf(connectors.CodeUnknown, rq.what, err)
	}
	return ans, nil
}

// faultError is the error a connector sees for an injected fault.
func faultError(what string, f conformance.Fault, now time.Time) error {
	if f.Status == 0 {
		return connectors.Errorf(connectors.CodeTemporary, what, io.ErrUnexpectedEOF)
	}
	h := f.Header
	if h == nil {
		h = http.Header{}
	}
	return connectors.FromHTTP(what, f.Status, h, now, errors.New(http.StatusText(f.Status)))
}

// takeFaultLocked pops the first queued fault matching op.
func (tr *Tracker) takeFaultLocked(op conformance.Op) (conformance.Fault, bool) {
	for i, f := range tr.faults {
		if f.Op != op && f.Op != conformance.OpAny {
			continue
		}
		tr.faults[i].Times--
		if tr.faults[i].Times <= 0 {
			tr.faults = append(tr.faults[:i:i], tr.faults[i+1:]...)
		}
		return f, true
	}
	return conformance.Fault{}, false
}

func (tr *Tracker) latencyFor(op conformance.Op) time.Duration {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if d, ok := tr.latency[op]; ok {
		return d
	}
	return tr.latency[conformance.OpAny]
}
