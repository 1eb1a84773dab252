package connectors

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Code classifies a connector failure. The engine decides retries from the
// code alone; connectors only classify.
type Code int

// The failure codes.
const (
	CodeUnknown         Code = iota
	CodeNotFound             // 404, 410: deleted, moved away or never existed
	CodePermission           // 401, 403 without a rate-limit signal
	CodeRateLimited          // 429, 403 rate limit, 503 with Retry-After
	CodeTemporary            // 5xx, timeouts, resets: may succeed later
	CodeInvalid              // other 4xx: the request itself is wrong
	CodeUnauthenticated      // a webhook delivery failed authentication
)

func (c Code) String() string {
	switch c {
	case CodeNotFound:
		return "not found"
	case CodePermission:
		return "permission denied"
	case CodeRateLimited:
		return "rate limited"
	case CodeTemporary:
		return "temporary failure"
	case CodeInvalid:
		return "invalid request"
	case CodeUnauthenticated:
		return "unauthenticated"
	}
	return "unknown failure"
}

// Error is a classified connector failure. Its text never holds a token, a
// secret-bearing URL or the body of an item.
type Error struct {
	Code       Code
	Op         string        // what was being done: "github: create issue"
	Status     int           // HTTP status, 0 when no response arrived
	RetryAfter time.Duration // for CodeRateLimited (and Temporary when given)
	Err        error         // underlying cause, may be nil
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(e.Code.String())
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, ", retry after %s", e.RetryAfter)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrNotFound) and the other sentinels match any
// *Error of the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Op == "" && t.Err == nil && t.Code == e.Code
}

// Sentinels for errors.Is; they match any *Error with the same code.
var (
	ErrNotFound        = &Error{Code: CodeNotFound}
	ErrPermission      = &Error{Code: CodePermission}
	ErrRateLimited     = &Error{Code: CodeRateLimited}
	ErrTemporary       = &Error{Code: CodeTemporary}
	ErrInvalid         = &Error{Code: CodeInvalid}
	ErrUnauthenticated = &Error{Code: CodeUnauthenticated}
)

// Errorf builds a classified error.
func Errorf(code Code, op string, cause error) *Error {
	return &Error{Code: code, Op: op, Err: cause}
}

// CodeOf returns the code of err, CodeUnknown when it is not classified.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeUnknown
}

// RetryAfterOf returns how long the tracker asked us to wait, if it did.
func RetryAfterOf(err error) (time.Duration, bool) {
	var e *Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		return e.RetryAfter, true
	}
	return 0, false
}

// Retryable reports whether the same request may succeed later.
func Retryable(err error) bool {
	switch CodeOf(err) {
	case CodeRateLimited, CodeTemporary, CodeUnknown:
		return err != nil
	}
	return false
}

// FromHTTP classifies a non-2xx response by status and headers. now is used
// to turn an HTTP-date Retry-After or a reset time into a duration. cause may
// carry the tracker's error message; it must not carry request bodies.
func FromHTTP(op string, status int, h http.Header, now time.Time, cause error) *Error {
	e := &Error{Op: op, Status: status, Err: cause}
	ra, hasRA := ParseRetryAfter(h.Get("Retry-After"), now)
	switch {
	case status == http.StatusNotFound || status == http.StatusGone:
		e.Code = CodeNotFound
	case status == http.StatusTooManyRequests:
		e.Code = CodeRateLimited
		e.RetryAfter = ra
		if !hasRA {
			e.RetryAfter = resetWait(h, now)
		}
	case status == http.StatusForbidden && (hasRA || h.Get("X-RateLimit-Remaining") == "0"):
		e.Code = CodeRateLimited
		e.RetryAfter = ra
		if !hasRA {
			e.RetryAfter = resetWait(h, now)
		}
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Code = CodePermission
	case status == http.StatusServiceUnavailable && hasRA:
		e.Code = CodeRateLimited
		e.RetryAfter = ra
	case status >= 500 || status == http.StatusRequestTimeout:
		e.Code = CodeTemporary
		e.RetryAfter = ra
	case status >= 400:
		e.Code = CodeInvalid
	default:
		e.Code = CodeUnknown
	}
	return e
}

// maxWait bounds any wait a tracker can impose through headers.
const maxWait = 24 * time.Hour

// ParseRetryAfter reads a Retry-After header: delay-seconds or an HTTP-date.
// It returns false for an empty or malformed value. Negative or past values
// give a zero wait; absurd values are capped at one day.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 64 {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs != secs { // NaN
			return 0, false
		}
		if secs <= 0 {
			return 0, true
		}
		if secs > maxWait.Seconds() {
			return maxWait, true
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return clampWait(t.Sub(now)), true
}

// ParseResetHeader reads a rate-limit reset value: epoch seconds (GitHub
// X-RateLimit-Reset, GitLab RateLimit-Reset), epoch milliseconds, or an
// ISO 8601 time (Jira X-RateLimit-Reset "2006-01-02T15:04Z"). It returns the
// reset instant.
func ParseResetHeader(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 64 {
		return time.Time{}, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return time.Time{}, false
		}
		if n > 1e12 { // milliseconds
			return time.UnixMilli(n), true
		}
		return time.Unix(n, 0), true
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04Z07:00", "2006-01-02T15:04Z", time.RFC1123} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func resetWait(h http.Header, now time.Time) time.Duration {
	for _, name := range []string{"X-RateLimit-Reset", "RateLimit-Reset"} {
		if t, ok := ParseResetHeader(h.Get(name)); ok {
			return clampWait(t.Sub(now))
		}
	}
	return 0
}

func clampWait(d time.Duration) time.Duration {
	if d < 0 {
		return 0
	}
	if d > maxWait {
		return maxWait
	}
	return d
}

// ErrNotSent is the cause of a rate-limited error for a request a
// connector refused to send because the tracker had asked it to wait
// (Retry-After): nothing reached the tracker. Connectors check this at
// their HTTP transport, so that a request already past the engine's gate
// when another request's rate-limit answer arrived is not sent either.
var ErrNotSent = errors.New("not sent: the tracker asked to wait")

// Held returns the error for a request not sent because the tracker asked
// to wait until until; op names the request without its URL.
func Held(op string, until, now time.Time) *Error {
	return &Error{Code: CodeRateLimited, Op: op, RetryAfter: until.Sub(now), Err: ErrNotSent}
}

// HoldRequest is the check a connector's HTTP transport makes before
// sending r: while the tracker's wait runs (now before until) it releases
// the request's body and returns the Held error for kind ("github"), and
// the request must not be sent; otherwise nil.
func HoldRequest(kind string, r *http.Request, until, now time.Time) error {
	if !now.Before(until) {
		return nil
	}
	if r.Body != nil {
		_ = r.Body.Close()
	}
	return Held(kind+": "+r.Method+" request", until, now)
}

// HeldError returns the held error inside err (a transport's refusal that
// an HTTP client wrapped), re-labelled with op, or nil.
func HeldError(op string, err error) *Error {
	var e *Error
	if !errors.As(err, &e) || !errors.Is(e.Err, ErrNotSent) {
		return nil
	}
	return &Error{Code: e.Code, Op: op, RetryAfter: e.RetryAfter, Err: ErrNotSent}
}

// Sent marks err as the failure of a call that had already sent a write
// (a create whose follow-up request failed): neither a follow-up held back
// by a Retry-After nor one the tracker refused may make the whole call
// look unsent or refused, or a caller could send the write again without
// looking for it first. The result keeps the code and Retry-After, not the
// HTTP status.
func Sent(err error) error {
	var e *Error
	if err == nil || !errors.As(err, &e) {
		return err
	}
	cause := e.Err
	if errors.Is(cause, ErrNotSent) {
		cause = errors.New("held: the tracker asked to wait")
	}
	if cause == nil {
		cause = errors.New(e.Code.String())
	}
	return &Error{Code: e.Code, Op: e.Op, RetryAfter: e.RetryAfter,
		Err: fmt.Errorf("the write was sent, a follow-up request failed: %w", cause)}
}
