package reliability

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// ChaosOptions are the fault rates of a ChaosTransport, each the share of
// requests (or, for LostWrite, of write requests) it hits.
type ChaosOptions struct {
	ServerError float64 // answered 500, 502, 503 or 504 without reaching the tracker
	TooMany     float64 // answered 429 with a Retry-After (seconds or an HTTP-date)
	Hang        float64 // never answered: held until the client gives up
	Reset       float64 // the connection is reset before the request is sent
	LostWrite   float64 // a write reaches the tracker, then its answer is lost (502 or reset)
	// RetryAfter bounds the Retry-After of injected 429s, in seconds of
	// the world's clock; default 1..5.
	RetryAfterMin, RetryAfterMax int
	// Grace is how long (real time) after a 429 was answered requests
	// already past pmsync's checks may still arrive without counting as
	// violations; default 250 ms. The connectors check the hold in their
	// transport, right above this one, so a request arriving later than
	// that was sent while pmsync knew of the wait. With 25 ms, runs of
	// three test binaries at once under -race flagged requests that had
	// passed that check before the 429 reached it (a goroutine paused
	// between the check and this transport).
	Grace time.Duration
}

// ChaosStats counts what a ChaosTransport did.
type ChaosStats struct {
	Requests, Forwarded                        int
	ServerErrors, TooMany, Hangs, Resets, Lost int
	// Violations lists requests that arrived while the tracker's latest
	// Retry-After (injected or real) had not expired.
	Violations []string
}

// ChaosTransport is an http.RoundTripper in front of one tracker that
// injects faults at the configured rates, and checks that no request
// arrives before the Retry-After of a rate-limit answer has passed.
type ChaosTransport struct {
	Base http.RoundTripper
	Now  func() time.Time // the world's clock, against which Retry-After runs
	Opts ChaosOptions

	mu       sync.Mutex
	rng      *rand.Rand
	on       bool
	blocked  time.Time // no request may arrive before this instant (world clock)
	answered time.Time // real time the latest rate-limit answer was given
	stats    ChaosStats
}

// NewChaosTransport returns a transport with faults on.
func NewChaosTransport(base http.RoundTripper, now func() time.Time, o ChaosOptions, seed uint64) *ChaosTransport {
	if o.RetryAfterMin <= 0 {
		o.RetryAfterMin = 1
	}
	if o.RetryAfterMax < o.RetryAfterMin {
		o.RetryAfterMax = 5
	}
	if o.Grace <= 0 {
		o.Grace = 250 * time.Millisecond
	}
	return &ChaosTransport{Base: base, Now: now, Opts: o, rng: rand.New(rand.NewPCG(seed, 0x5eed)), on: true}
}

// SetFaults turns fault injection on or off; the Retry-After check stays.
func (c *ChaosTransport) SetFaults(on bool) {
	c.mu.Lock()
	c.on = on
	c.mu.Unlock()
}

// Stats returns a copy of the counts.
func (c *ChaosTransport) Stats() ChaosStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Violations = append([]string(nil), c.stats.Violations...)
	return s
}

type fault int

const (
	noFault fault = iota
	serverError
	tooMany
	hang
	reset
	lostWrite
)

// RoundTrip checks the request against the latest Retry-After, then
// injects a fault or forwards it.
func (c *ChaosTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	write := req.Method != http.MethodGet && req.Method != http.MethodHead
	now := c.Now()
	c.mu.Lock()
	c.stats.Requests++
	if now.Before(c.blocked) && time.Since(c.answered) > c.Opts.Grace {
		c.stats.Violations = append(c.stats.Violations, fmt.Sprintf("%s %s at %s, %s before the Retry-After expired",
			req.Method, req.URL.Path, now.Format(time.RFC3339Nano), c.blocked.Sub(now)))
	}
	f := noFault
	if c.on {
		r := c.rng.Float64()
		switch o := c.Opts; {
		case r < o.ServerError:
			f = serverError
		case r < o.ServerError+o.TooMany:
			f = tooMany
		case r < o.ServerError+o.TooMany+o.Hang:
			f = hang
		case r < o.ServerError+o.TooMany+o.Hang+o.Reset:
			f = reset
		case write && c.rng.Float64() < o.LostWrite:
			f = lostWrite
		}
	}
	var resp *http.Response
	switch f {
	case serverError:
		c.stats.ServerErrors++
		resp = synth(req, []int{500, 502, 503, 504}[c.rng.IntN(4)], nil)
	case tooMany:
		c.stats.TooMany++
		resp = synth(req, http.StatusTooManyRequests, c.retryAfterLocked(now))
	case hang:
		c.stats.Hangs++
	case reset:
		c.stats.Resets++
	case lostWrite:
		c.stats.Lost++
	default:
		c.stats.Forwarded++
	}
	c.mu.Unlock()
	if req.Body != nil && f != noFault && f != lostWrite {
		_ = req.Body.Close()
	}
	switch f {
	case serverError, tooMany:
		return resp, nil
	case hang:
		<-req.Context().Done()
		return nil, req.Context().Err()
	case reset:
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	}
	resp, err := c.Base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if f == lostWrite {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if c.rngBool() {
			return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
		}
		return synth(req, http.StatusBadGateway, nil), nil
	}
	c.observe(resp)
	return resp, nil
}

func (c *ChaosTransport) rngBool() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rng.IntN(2) == 0
}

// retryAfterLocked picks a Retry-After, half as seconds and half as an
// HTTP-date, and blocks the tracker until it expires.
func (c *ChaosTransport) retryAfterLocked(now time.Time) http.Header {
	secs := c.Opts.RetryAfterMin + c.rng.IntN(c.Opts.RetryAfterMax-c.Opts.RetryAfterMin+1)
	until := now.Add(time.Duration(secs) * time.Second)
	v := strconv.Itoa(secs)
	if c.rng.IntN(2) == 0 {
		// An HTTP-date has whole seconds: the wait ends at the truncated
		// instant, which is what a client can know.
		until = until.Truncate(time.Second)
		v = until.UTC().Format(http.TimeFormat)
	}
	c.blockLocked(until)
	return http.Header{"Retry-After": {v}}
}

func (c *ChaosTransport) blockLocked(until time.Time) {
	if until.After(c.blocked) {
		c.blocked = until
	}
	c.answered = time.Now()
}

// observe takes note of a real rate-limit answer with a Retry-After.
func (c *ChaosTransport) observe(resp *http.Response) {
	ra := resp.Header.Get("Retry-After")
	if ra == "" || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusServiceUnavailable) {
		return
	}
	now := c.Now()
	until := now
	if secs, err := strconv.Atoi(ra); err == nil {
		until = now.Add(time.Duration(secs) * time.Second)
	} else if t, err := http.ParseTime(ra); err == nil {
		until = t
	}
	c.mu.Lock()
	c.blockLocked(until)
	c.mu.Unlock()
}

// synth builds an answer of status with a JSON error body.
func synth(req *http.Request, status int, h http.Header) *http.Response {
	if h == nil {
		h = http.Header{}
	}
	h.Set("Content-Type", "application/json")
	body := fmt.Sprintf(`{"message":"injected %d","errorMessages":["injected %d"]}`, status, status)
	return &http.Response{
		Status: fmt.Sprintf("%d %s", status, http.StatusText(status)), StatusCode: status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h, Request: req,
		Body: io.NopCloser(bytes.NewReader([]byte(body))), ContentLength: int64(len(body)),
	}
}
