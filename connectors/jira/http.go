package jira

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	jira "github.com/andygrunwald/go-jira"

	"github.com/pmsync/pmsync/connectors"
)

// observer is the innermost transport: it counts answered requests for
// calls that want to know (Changes.Requests) and records rate-limit headers.
// go-jira itself ignores both.
type observer struct {
	c    *Connector
	next http.RoundTripper
}

type countKey struct{}

// withCounter returns a context whose requests are counted in n.
func withCounter(ctx context.Context, n *atomic.Int64) context.Context {
	return context.WithValue(ctx, countKey{}, n)
}

// RoundTrip refuses to send while Jira has told us to wait (a request
// that passed the engine's gate before another's 429 arrived), then sends
// req and observes the answer.
func (o *observer) RoundTrip(req *http.Request) (*http.Response, error) {
	o.c.mu.Lock()
	until := o.c.rate.BlockedUntil
	o.c.mu.Unlock()
	if err := connectors.HoldRequest("jira", req, until, o.c.now()); err != nil {
		return nil, err
	}
	resp, err := o.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if n, ok := req.Context().Value(countKey{}).(*atomic.Int64); ok {
		n.Add(1)
	}
	o.c.observe(resp)
	return resp, nil
}

// observe updates the rate-limit state from an answer's headers: Cloud's
// X-RateLimit-Limit/-Remaining/-Reset (ISO 8601) and, on 429 or 503, the
// wait from Retry-After (or the reset time).
func (c *Connector) observe(resp *http.Response) {
	h := resp.Header
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, err := strconv.Atoi(h.Get("X-RateLimit-Limit")); err == nil {
		c.rate.Limit = v
	}
	if v, err := strconv.Atoi(h.Get("X-RateLimit-Remaining")); err == nil {
		c.rate.Remaining = v
	}
	if t, ok := connectors.ParseResetHeader(h.Get("X-RateLimit-Reset")); ok {
		c.rate.Reset = t
	}
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return
	}
	wait, ok := connectors.ParseRetryAfter(h.Get("Retry-After"), now)
	if !ok && resp.StatusCode == http.StatusTooManyRequests && !c.rate.Reset.IsZero() {
		wait, ok = c.rate.Reset.Sub(now), true
	}
	if ok && wait > 0 {
		if until := now.Add(wait); until.After(c.rate.BlockedUntil) {
			c.rate.BlockedUntil = until
		}
	}
}

// call sends one request built by go-jira and decodes the answer into out
// (nil for answers without a body). Errors are classified.
func (c *Connector) call(ctx context.Context, op, method, path string, body, out any) (*jira.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, connectors.Errorf(connectors.CodeTemporary, op, err)
	}
	req, err := c.client.NewRequestWithContext(ctx, method, path, body)
	if err != nil {
		return nil, connectors.Errorf(connectors.CodeInvalid, op, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req, out)
	return resp, c.check(ctx, op, resp, err)
}

// check classifies the outcome of a go-jira call and releases its body.
// go-jira answers every non-2xx status with the same plain error, so the
// status, headers and Jira's error messages are read from the response.
func (c *Connector) check(ctx context.Context, op string, resp *jira.Response, err error) error {
	var body []byte
	if resp != nil && resp.Response != nil && resp.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
	}
	if err == nil {
		return nil
	}
	if held := connectors.HeldError(op, err); held != nil {
		return held
	}
	if refused := connectors.RedirectError(op, err); refused != nil {
		return refused
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return connectors.Errorf(connectors.CodeTemporary, op, ctxErr)
	}
	if resp == nil || resp.Response == nil {
		return connectors.TransportError(op, err)
	}
	status := resp.StatusCode
	if status >= 200 && status <= 299 {
		return connectors.Errorf(connectors.CodeTemporary, op, errors.New("malformed answer from Jira"))
	}
	return connectors.FromHTTP(op, status, resp.Header, c.now(), jiraCause(err, body, resp.Header))
}

// jiraCause builds the cause of an HTTP failure from Jira's error shape
// {"errorMessages":[...],"errors":{field: msg}} and the rate-limit reason.
// It never holds request bodies.
func jiraCause(err error, body []byte, h http.Header) error {
	var msgs []string
	var jerr *jira.Error
	if errors.As(err, &jerr) {
		msgs = append(msgs, jerr.ErrorMessages...)
		msgs = append(msgs, fieldMessages(jerr.Errors)...)
	} else if len(body) > 0 {
		var e struct {
			ErrorMessages []string          `json:"errorMessages"`
			Errors        map[string]string `json:"errors"`
		}
		if json.Unmarshal(body, &e) == nil {
			msgs = append(msgs, e.ErrorMessages...)
			msgs = append(msgs, fieldMessages(e.Errors)...)
		}
	}
	if r := h.Get("RateLimit-Reason"); r != "" {
		msgs = append(msgs, "RateLimit-Reason "+r)
	}
	if len(msgs) == 0 {
		return nil
	}
	text := strings.Join(msgs, "; ")
	if len(text) > 300 {
		text = text[:300] + "…"
	}
	return errors.New(text)
}

func fieldMessages(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+": "+v)
	}
	sort.Strings(out)
	return out
}

// invalid is a classified error for a value pmsync refuses to send.
func invalid(op string, format string, args ...any) error {
	return connectors.Errorf(connectors.CodeInvalid, op, fmt.Errorf(format, args...))
}
