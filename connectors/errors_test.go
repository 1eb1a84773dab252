package connectors

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestFromHTTPClassifies(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	cases := []struct {
		name   string
		status int
		h      http.Header
		want   error
		wait   time.Duration
	}{
		{"404", 404, nil, ErrNotFound, 0},
		{"410 gone", 410, nil, ErrNotFound, 0},
		{"401", 401, nil, ErrPermission, 0},
		{"403 plain", 403, nil, ErrPermission, 0},
		{"403 primary limit", 403, hdr("X-RateLimit-Remaining", "0", "X-RateLimit-Reset", fmt.Sprint(now.Add(90*time.Second).Unix())), ErrRateLimited, 90 * time.Second},
		{"403 secondary limit", 403, hdr("Retry-After", "60"), ErrRateLimited, time.Minute},
		{"429 retry-after", 429, hdr("Retry-After", "2"), ErrRateLimited, 2 * time.Second},
		{"429 http-date", 429, hdr("Retry-After", now.Add(5*time.Second).Format(http.TimeFormat)), ErrRateLimited, 5 * time.Second},
		{"429 gitlab reset", 429, hdr("RateLimit-Reset", fmt.Sprint(now.Add(30*time.Second).Unix())), ErrRateLimited, 30 * time.Second},
		{"429 no header", 429, nil, ErrRateLimited, 0},
		{"503 with retry-after", 503, hdr("Retry-After", "7"), ErrRateLimited, 7 * time.Second},
		{"503 plain", 503, nil, ErrTemporary, 0},
		{"500", 500, nil, ErrTemporary, 0},
		{"502", 502, nil, ErrTemporary, 0},
		{"408", 408, nil, ErrTemporary, 0},
		{"400", 400, nil, ErrInvalid, 0},
		{"422", 422, nil, ErrInvalid, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := c.h
			if h == nil {
				h = http.Header{}
			}
			err := FromHTTP("test: op", c.status, h, now, nil)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want code %v", err, c.want.(*Error).Code)
			}
			for _, other := range []error{ErrNotFound, ErrPermission, ErrRateLimited, ErrTemporary, ErrInvalid} {
				if other != c.want && errors.Is(err, other) {
					t.Errorf("error %v also matches %v", err, other)
				}
			}
			if got, _ := RetryAfterOf(err); got != c.wait {
				t.Errorf("retry after: got %v, want %v", got, c.wait)
			}
		})
	}
}

func TestErrorWrapping(t *testing.T) {
	cause := errors.New("boom")
	err := fmt.Errorf("engine: reconcile: %w", Errorf(CodeTemporary, "github: get o/r#1", cause))
	if !errors.Is(err, ErrTemporary) || !errors.Is(err, cause) {
		t.Fatalf("wrapped error lost its code or cause: %v", err)
	}
	if !Retryable(err) {
		t.Errorf("temporary error should be retryable")
	}
	if Retryable(Errorf(CodeInvalid, "x", nil)) || Retryable(nil) {
		t.Errorf("invalid and nil must not be retryable")
	}
	if got, want := err.Error(), "engine: reconcile: github: get o/r#1: temporary failure: boom"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if CodeOf(errors.New("plain")) != CodeUnknown {
		t.Errorf("plain errors must be CodeUnknown")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"2", 2 * time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"1.5", 1500 * time.Millisecond, true},
		{"0", 0, true},
		{"-5", 0, true},
		{"99999999999", 24 * time.Hour, true},
		{"NaN", 0, false},
		{"soon", 0, false},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{now.Add(10 * time.Second).Format(http.TimeFormat), 10 * time.Second, true},
	}
	for _, c := range cases {
		got, ok := ParseRetryAfter(c.in, now)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseRetryAfter(%q): got %v,%v want %v,%v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestParseResetHeader(t *testing.T) {
	cases := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"1772366400", time.Unix(1772366400, 0), true},
		{"1772366400000", time.UnixMilli(1772366400000), true},
		{"2026-03-01T12:05Z", time.Date(2026, 3, 1, 12, 5, 0, 0, time.UTC), true},
		{"2026-03-01T12:05:30Z", time.Date(2026, 3, 1, 12, 5, 30, 0, time.UTC), true},
		{"0", time.Time{}, false},
		{"tomorrow", time.Time{}, false},
	}
	for _, c := range cases {
		got, ok := ParseResetHeader(c.in)
		if !got.Equal(c.want) || ok != c.ok {
			t.Errorf("ParseResetHeader(%q): got %v,%v want %v,%v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"2", "1.5", "-1", "Wed, 21 Oct 2015 07:28:00 GMT", "1e308", "NaN", "+Inf", ""} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := ParseRetryAfter(s, now)
		if d < 0 || d > maxWait {
			t.Fatalf("ParseRetryAfter(%q) = %v out of [0, %v]", s, d, maxWait)
		}
		if !ok && d != 0 {
			t.Fatalf("ParseRetryAfter(%q) not ok but %v", s, d)
		}
	})
}

func FuzzRateLimitHeaders(f *testing.F) {
	for _, s := range []string{"1772366400", "1772366400000", "2026-03-01T12:05Z", "0", "x", "-1"} {
		f.Add(s, 429)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string, status int) {
		ParseResetHeader(v)
		h := http.Header{}
		h.Set("X-RateLimit-Reset", v)
		h.Set("RateLimit-Reset", v)
		h.Set("Retry-After", v)
		h.Set("X-RateLimit-Remaining", "0")
		e := FromHTTP("fuzz", status, h, now, nil)
		if e.RetryAfter < 0 || e.RetryAfter > maxWait {
			t.Fatalf("retry after out of range: %v", e.RetryAfter)
		}
	})
}

func TestHeldAndSent(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	held := Held("jira: GET request", now.Add(3*time.Second), now)
	wrapped := &url.Error{Op: "Get", URL: "https://x.example/rest", Err: held}
	got := HeldError("jira: get PLAT-1", wrapped)
	if got == nil || got.Op != "jira: get PLAT-1" || got.RetryAfter != 3*time.Second || !errors.Is(got, ErrNotSent) || !errors.Is(got, ErrRateLimited) {
		t.Fatalf("HeldError of a wrapped refusal = %+v, want a rate-limited, not-sent error with the caller's op and 3s", got)
	}
	if HeldError("op", errors.New("connection reset")) != nil || HeldError("op", Errorf(CodeRateLimited, "op", nil)) != nil {
		t.Errorf("HeldError of other errors: want nil")
	}
	sent := Sent(got)
	if errors.Is(sent, ErrNotSent) || !errors.Is(sent, ErrRateLimited) {
		t.Errorf("Sent(held) = %v, want rate limited and no longer 'not sent'", sent)
	}
	if d, ok := RetryAfterOf(sent); !ok || d != 3*time.Second {
		t.Errorf("Sent(held) keeps RetryAfter: got %v %v, want 3s", d, ok)
	}
	refused := &Error{Code: CodeRateLimited, Op: "op", Status: http.StatusTooManyRequests, RetryAfter: time.Second}
	var e *Error
	if s := Sent(refused); !errors.As(s, &e) || e.Status != 0 || e.RetryAfter != time.Second || !errors.Is(s, ErrRateLimited) {
		t.Errorf("Sent(a refused follow-up) = %+v, want rate limited, Retry-After kept, no HTTP status", e)
	}
	if Sent(nil) != nil {
		t.Errorf("Sent(nil) is not nil")
	}
	r, _ := http.NewRequest(http.MethodPost, "https://x.example/issues", strings.NewReader("{}"))
	if err := HoldRequest("github", r, now, now); err != nil {
		t.Errorf("HoldRequest once the wait is over: %v, want nil", err)
	}
	err := HoldRequest("github", r, now.Add(2*time.Second), now)
	if !errors.Is(err, ErrNotSent) || !errors.Is(err, ErrRateLimited) || strings.Contains(err.Error(), "x.example") {
		t.Errorf("HoldRequest within the wait: %v, want a rate-limited, not-sent error without the URL", err)
	}
}
