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

// secondaryWait is how long to wait after a secondary limit that names no
// time: GitHub asks for at least a minute.
const secondaryWait = time.Minute

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
		wait := secondaryWait
		if ab.RetryAfter != nil && *ab.RetryAfter > 0 {
			wait = clampWait(*ab.RetryAfter)
		}
		if h := responseHeader(ab.Response); h != nil {
			if ra, ok := connectors.ParseRetryAfter(h.Get("Retry-After"), now); ok {
				wait = ra
			}
		}
		return &connectors.Error{Code: connectors.CodeRateLimited, Op: op, Status: http.StatusForbidden, RetryAfter: wait,
			Err: errors.New("secondary rate limit exceeded")}
	case errors.As(err, &er) && er.Response != nil:
		return classifyResponse(op, er, now)
	}
	return connectors.TransportError(op, err)
}

// classifyResponse handles an error answer go-github did not recognise as
// a rate limit: every 429, and 403s of the secondary limit whose
// documentation URL go-github does not know.
func classifyResponse(op string, er *gh.ErrorResponse, now time.Time) *connectors.Error {
	status := er.Response.StatusCode
	h := er.Response.Header
	cause := errors.New(message(er))
	if (status == http.StatusForbidden || status == http.StatusTooManyRequests) && secondary(er) {
		wait := secondaryWait
		if ra, ok := connectors.ParseRetryAfter(h.Get("Retry-After"), now); ok {
			wait = ra
		} else if h.Get("X-RateLimit-Remaining") == "0" {
			if t, ok := connectors.ParseResetHeader(h.Get("X-RateLimit-Reset")); ok {
				wait = clampWait(t.Sub(now))
			}
		}
		return &connectors.Error{Code: connectors.CodeRateLimited, Op: op, Status: status, RetryAfter: wait, Err: cause}
	}
	e := connectors.FromHTTP(op, status, h, now, cause)
	if e.Code == connectors.CodeRateLimited && e.RetryAfter == 0 && h.Get("Retry-After") == "" && h.Get("X-RateLimit-Reset") == "" {
		e.RetryAfter = secondaryWait
	}
	return e
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
		if wait, ok := limitWait(resp.StatusCode, resp.Header, o.c.now()); ok {
			o.c.block(o.c.now().Add(wait))
		}
	}
	return resp, err
}

// limitWait is the wait a rate-limit answer asks for, read from its
// headers alone: a 429 (Retry-After, else a minute), a 403 with
// Retry-After, or a 403 with no budget left (until the reset). A secondary
// limit told only in the body is found when go-github has decoded it
// (fail).
func limitWait(status int, h http.Header, now time.Time) (time.Duration, bool) {
	ra, hasRA := connectors.ParseRetryAfter(h.Get("Retry-After"), now)
	switch {
	case status == http.StatusTooManyRequests && hasRA, status == http.StatusForbidden && hasRA:
		return ra, true
	case status == http.StatusTooManyRequests:
		return secondaryWait, true
	case status == http.StatusForbidden && h.Get("X-RateLimit-Remaining") == "0":
		if t, ok := connectors.ParseResetHeader(h.Get("X-RateLimit-Reset")); ok && t.After(now) {
			return clampWait(t.Sub(now)), true
		}
	}
	return 0, false
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
