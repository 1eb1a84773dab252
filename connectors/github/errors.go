package github

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v62/github"

	"github.com/pmsync/pmsync/connectors"
)

// The waits after a rate limit that names no time (no Retry-After, no
// exhausted budget with its reset): GitHub asks for "at least one minute"
// and, while the limit keeps being hit, "an exponentially increasing
// amount of time between retries". The wait doubles with each such answer
// since the last success, up to secondaryMaxWait.
const (
	secondaryWait    = time.Minute
	secondaryMaxWait = 16 * time.Minute
)

// secondaryBackoff is the wait after the n-th untimed limit in a row.
func secondaryBackoff(n int) time.Duration {
	d := secondaryWait
	for i := 1; i < n && d < secondaryMaxWait; i++ {
		d *= 2
	}
	return min(d, secondaryMaxWait)
}

// untimedWait is the wait after resp, a rate-limit answer that names no
// time. A 429 was counted by the transport (observer) when it arrived; a
// 403 is known to be a limit only once go-github decoded its body, and is
// counted here.
func (c *Connector) untimedWait(resp *http.Response) time.Duration {
	c.rateMu.Lock()
	defer c.rateMu.Unlock()
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		c.untimed++
	}
	return secondaryBackoff(max(c.untimed, 1))
}

// noteAnswer counts an untimed 429 (returning its wait) or, for an answer
// that is no error, ends the run of untimed limits.
func (c *Connector) noteAnswer(status int, untimed bool) time.Duration {
	c.rateMu.Lock()
	defer c.rateMu.Unlock()
	switch {
	case untimed:
		c.untimed++
		return secondaryBackoff(c.untimed)
	case status < 400:
		c.untimed = 0
	}
	return 0
}

// fail classifies an error of a go-github call made for op. It never puts
// a URL, a token or a request body in the error text.
func (c *Connector) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	if held := connectors.HeldError(op, err); held != nil {
		return held
	}
	if refused := connectors.RedirectError(op, err); refused != nil {
		return refused
	}
	now := c.now()
	e := c.classify(op, err, now)
	if e.Code == connectors.CodeRateLimited {
		c.block(now.Add(e.RetryAfter))
	}
	c.log.Debug("request failed", "op", op, "code", e.Code.String(), "status", e.Status)
	return e
}

func (c *Connector) classify(op string, err error, now time.Time) *connectors.Error {
	var (
		rl  *gh.RateLimitError
		ab  *gh.AbuseRateLimitError
		er  *gh.ErrorResponse
		cce = errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
	)
	switch {
	case cce:
		return &connectors.Error{Code: connectors.CodeTemporary, Op: op, Err: contextErr(err)}
	case errors.As(err, &rl):
		// Both a real 403 with X-RateLimit-Remaining: 0 and go-github's own
		// refusal before sending (which carries no headers) land here.
		wait := clampWait(rl.Rate.Reset.Time.Sub(now))
		if h := responseHeader(rl.Response); h != nil {
			if e := connectors.FromHTTP(op, http.StatusForbidden, h, now, nil); e.Code == connectors.CodeRateLimited && e.RetryAfter > 0 {
				wait = e.RetryAfter
			}
		}
		return &connectors.Error{Code: connectors.CodeRateLimited, Op: op, Status: http.StatusForbidden, RetryAfter: wait,
			Err: errors.New("primary rate limit exceeded")}
	case errors.As(err, &ab):
		var wait time.Duration
		timed := false
		if ab.RetryAfter != nil && *ab.RetryAfter > 0 {
			wait, timed = clampWait(*ab.RetryAfter), true
		}
		if h := responseHeader(ab.Response); h != nil {
			if ra, ok := connectors.ParseRetryAfter(h.Get("Retry-After"), now); ok {
				wait, timed = ra, true
			}
		}
		if !timed {
			wait = c.untimedWait(ab.Response)
		}
		return &connectors.Error{Code: connectors.CodeRateLimited, Op: op, Status: http.StatusForbidden, RetryAfter: wait,
			Err: errors.New("secondary rate limit exceeded")}
	case errors.As(err, &er) && er.Response != nil:
		return c.classifyResponse(op, er, now)
	}
	return connectors.TransportError(op, err)
}

// classifyResponse handles an error answer go-github did not recognise as
// a rate limit: every 429, and 403s of the secondary limit whose
// documentation URL go-github does not know.
func (c *Connector) classifyResponse(op string, er *gh.ErrorResponse, now time.Time) *connectors.Error {
	status := er.Response.StatusCode
	h := er.Response.Header
	cause := errors.New(message(er))
	if (status == http.StatusForbidden || status == http.StatusTooManyRequests) && secondary(er) {
		wait, timed := headerWait(h, now)
		if !timed {
			wait = c.untimedWait(er.Response)
		}
		return &connectors.Error{Code: connectors.CodeRateLimited, Op: op, Status: status, RetryAfter: wait, Err: cause}
	}
	e := connectors.FromHTTP(op, status, h, now, cause)
	if e.Code == connectors.CodeRateLimited && e.RetryAfter == 0 && h.Get("Retry-After") == "" && h.Get("X-RateLimit-Reset") == "" {
		e.RetryAfter = c.untimedWait(er.Response)
	}
	return e
}

// headerWait is the wait that a rate-limit answer's headers name: its
// Retry-After, or, with no budget left, the time until the reset.
func headerWait(h http.Header, now time.Time) (time.Duration, bool) {
	if ra, ok := connectors.ParseRetryAfter(h.Get("Retry-After"), now); ok {
		return ra, true
	}
	if h.Get("X-RateLimit-Remaining") == "0" {
		if t, ok := connectors.ParseResetHeader(h.Get("X-RateLimit-Reset")); ok {
			return clampWait(t.Sub(now)), true
		}
	}
	return 0, false
}

// secondary reports whether an error answer is GitHub's secondary limit.
func secondary(er *gh.ErrorResponse) bool {
	doc := strings.ToLower(er.DocumentationURL)
	msg := strings.ToLower(er.Message)
	return strings.HasSuffix(doc, "secondary-rate-limits") || strings.HasSuffix(doc, "#abuse-rate-limits") ||
		strings.Contains(msg, "secondary rate limit") || strings.Contains(msg, "abuse detection")
}

// message is the tracker's error message, bounded, for the error text.
func message(er *gh.ErrorResponse) string {
	m := er.Message
	if m == "" {
		m = http.StatusText(er.Response.StatusCode)
	}
	for _, fe := range er.Errors {
		if fe.Field != "" {
			m += "; " + fe.Field + ": " + strings.TrimSpace(fe.Code+" "+fe.Message)
		}
	}
	if len(m) > 300 {
		m = m[:300] + "…"
	}
	return m
}

func responseHeader(r *http.Response) http.Header {
	if r == nil || len(r.Header) == 0 {
		return nil
	}
	return r.Header
}

func contextErr(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return context.DeadlineExceeded
	}
	return context.Canceled
}

func clampWait(d time.Duration) time.Duration {
	if d < 0 {
		return 0
	}
	if d > 24*time.Hour {
		return 24 * time.Hour
	}
	return d
}

// invalid is a request the connector refuses to send.
func invalid(op string, err error) error {
	return connectors.Errorf(connectors.CodeInvalid, op, err)
}

// RateLimit reports the last known core budget and any wait GitHub asked for.
func (c *Connector) RateLimit() connectors.RateState {
	c.rateMu.Lock()
	defer c.rateMu.Unlock()
	return c.rate
}

func (c *Connector) block(until time.Time) {
	c.rateMu.Lock()
	defer c.rateMu.Unlock()
	if until.After(c.rate.BlockedUntil) {
		c.rate.BlockedUntil = until
	}
}

// observer reads the rate-limit headers of every answer, including 304s
// and errors, before go-github sees them.
type observer struct {
	base http.RoundTripper
	c    *Connector
}

// RoundTrip refuses to send while GitHub has told us to wait (a request
// that passed the engine's gate before another's rate-limit answer
// arrived), then sends and observes the answer: a 429, or a 403 with
// Retry-After or an exhausted budget, holds every request from here on,
// before go-github has even decoded it.
func (o *observer) RoundTrip(r *http.Request) (*http.Response, error) {
	base := o.base
	if base == nil {
		base = http.DefaultTransport
	}
	if err := connectors.HoldRequest("github", r, o.c.RateLimit().BlockedUntil, o.c.now()); err != nil {
		return nil, err
	}
	resp, err := base.RoundTrip(r)
	if err == nil {
		o.c.observe(resp.Header)
		now := o.c.now()
		wait, limited := limitWait(resp.StatusCode, resp.Header, now)
		if w := o.c.noteAnswer(resp.StatusCode, limited && wait == 0); w > 0 {
			wait = w
		}
		if limited {
			o.c.block(now.Add(wait))
		}
	}
	return resp, err
}

// limitWait is the wait a rate-limit answer asks for, read from its
// headers alone: a 429 or a 403 with Retry-After, or with no budget left
// (until the reset); a 429 naming no time is a limit with wait 0 (the
// caller backs off, see secondaryBackoff). A secondary limit told only in
// the body of a 403 is found when go-github has decoded it (fail).
func limitWait(status int, h http.Header, now time.Time) (time.Duration, bool) {
	if status != http.StatusTooManyRequests && status != http.StatusForbidden {
		return 0, false
	}
	if wait, ok := headerWait(h, now); ok {
		return wait, true
	}
	return 0, status == http.StatusTooManyRequests
}

func (c *Connector) observe(h http.Header) {
	if res := h.Get("X-RateLimit-Resource"); res != "" && res != "core" {
		return
	}
	limit, err1 := strconv.Atoi(h.Get("X-RateLimit-Limit"))
	remaining, err2 := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	if err1 != nil || err2 != nil {
		return
	}
	c.rateMu.Lock()
	defer c.rateMu.Unlock()
	c.rate.Limit, c.rate.Remaining = limit, remaining
	if t, ok := connectors.ParseResetHeader(h.Get("X-RateLimit-Reset")); ok {
		c.rate.Reset = t
	}
}
