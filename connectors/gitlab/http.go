package gitlab

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/pmsync/pmsync/connectors"
)

// defaultRateWait is how long to stay away after a 429 that says nothing
// about when to come back; GitLab's limits are per minute.
const defaultRateWait = time.Minute

// wrapHTTP returns a client like base whose transport records rate-limit
// headers, and which follows redirects only within the instance (the
// PRIVATE-TOKEN header would follow them; Go only strips Authorization
// and Cookie).
func (c *Client) wrapHTTP(base *http.Client, instance *url.URL) *http.Client {
	rt := base.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &http.Client{
		Transport:     &observer{next: rt, c: c},
		Timeout:       base.Timeout,
		Jar:           base.Jar,
		CheckRedirect: connectors.SameHostRedirects(instance),
	}
}

// observer is the transport that feeds RateLimit().
type observer struct {
	next http.RoundTripper
	c    *Client
}

// RoundTrip refuses to send while GitLab has told us to wait (a request
// that passed the engine's gate before another's 429 arrived), then sends
// and observes the answer.
func (o *observer) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := connectors.HoldRequest("gitlab", r, o.c.rate.get().BlockedUntil, o.c.now()); err != nil {
		return nil, err
	}
	resp, err := o.next.RoundTrip(r)
	if resp != nil {
		o.c.rate.observe(resp.StatusCode, resp.Header, o.c.now())
	}
	return resp, err
}

// CloseIdleConnections lets Client.Close release the pool.
func (o *observer) CloseIdleConnections() {
	if ci, ok := o.next.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

type rateState struct {
	mu sync.Mutex
	st connectors.RateState
}

func (r *rateState) get() connectors.RateState {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.st
	if st.Limit == 0 && st.Remaining == 0 && st.Reset.IsZero() {
		st.Remaining = -1
	}
	return st
}

// observe reads RateLimit-Limit, -Remaining and -Reset from any answer,
// and on a 429 (or a 503 with Retry-After) blocks until the wait is over.
func (r *rateState) observe(status int, h http.Header, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n, err := strconv.Atoi(h.Get("RateLimit-Limit")); err == nil && n > 0 {
		r.st.Limit = n
		r.st.Remaining = -1
	}
	if n, err := strconv.Atoi(h.Get("RateLimit-Remaining")); err == nil && n >= 0 {
		r.st.Remaining = n
	}
	if t, ok := connectors.ParseResetHeader(h.Get("RateLimit-Reset")); ok {
		r.st.Reset = t
	}
	if status == http.StatusTooManyRequests || (status == http.StatusServiceUnavailable && h.Get("Retry-After") != "") {
		if until := now.Add(rateWait(h, now)); until.After(r.st.BlockedUntil) {
			r.st.BlockedUntil = until
		}
	}
}

// rateWait is how long a rate-limited answer asks us to wait:
// Retry-After, else RateLimit-Reset, else RateLimit-ResetTime, else a
// minute.
func rateWait(h http.Header, now time.Time) time.Duration {
	if d, ok := connectors.ParseRetryAfter(h.Get("Retry-After"), now); ok {
		return d
	}
	if t, ok := connectors.ParseResetHeader(h.Get("RateLimit-Reset")); ok && t.After(now) {
		return t.Sub(now)
	}
	if t, err := http.ParseTime(h.Get("RateLimit-ResetTime")); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return defaultRateWait
}

// RateLimit reports the last known rate-limit state.
func (c *Client) RateLimit() connectors.RateState { return c.rate.get() }

// guard refuses to send anything while GitLab has told us to wait.
func (c *Client) guard(op string) error {
	now := c.now()
	c.rate.mu.Lock()
	until := c.rate.st.BlockedUntil
	c.rate.mu.Unlock()
	if now.Before(until) {
		return &connectors.Error{Code: connectors.CodeRateLimited, Op: op, RetryAfter: until.Sub(now),
			Err: errors.New("waiting for the rate limit to reset; no request sent")}
	}
	return nil
}

// fail classifies a client-go failure. The text carries the operation, the
// HTTP status and GitLab's short message; never the token or a body.
func (c *Client) fail(op string, resp *gl.Response, err error) error {
	if err == nil {
		return nil
	}
	if held := connectors.HeldError(op, err); held != nil {
		return held
	}
	if refused := connectors.RedirectError(op, err); refused != nil {
		return refused
	}
	var status int
	var h http.Header
	if resp != nil && resp.Response != nil {
		status, h = resp.StatusCode, resp.Header
	}
	switch {
	case status >= 300 && status < 400:
		return &connectors.Error{Code: connectors.CodeInvalid, Op: op, Status: status,
			Err: errors.New("redirect refused (check the instance URL and project path)")}
	case status >= 400:
		e := connectors.FromHTTP(op, status, h, c.now(), errMessage(err))
		if e.Code == connectors.CodeRateLimited && e.RetryAfter == 0 {
			e.RetryAfter = rateWait(h, c.now())
		}
		return e
	case status != 0:
		return &connectors.Error{Code: connectors.CodeTemporary, Op: op, Status: status,
			Err: fmt.Errorf("reading the answer: %w", err)}
	}
	// No answer: a cut connection, a timeout or a cancelled context (the
	// cause stays reachable for errors.Is(err, context.Canceled)).
	return connectors.TransportError(op, err)
}
