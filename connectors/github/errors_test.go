package github

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	gh "github.com/google/go-github/v62/github"

	"github.com/pmsync/pmsync/connectors"
)

func errResp(status int, h http.Header, msg, doc string) *gh.ErrorResponse {
	if h == nil {
		h = http.Header{}
	}
	return &gh.ErrorResponse{Response: &http.Response{StatusCode: status, Header: h}, Message: msg, DocumentationURL: doc}
}

// TestClassify covers the failures go-github hands back, including its
// own refusal before sending (a RateLimitError with an empty response).
func TestClassify(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	tenSecs := 10 * time.Second
	reset := http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"1772445600"}} // now + 1h
	tests := []struct {
		name  string
		err   error
		code  connectors.Code
		retry time.Duration
	}{
		{"pre-flight primary refusal", &gh.RateLimitError{Rate: gh.Rate{Reset: gh.Timestamp{Time: now.Add(30 * time.Second)}},
			Response: &http.Response{StatusCode: 403, Header: http.Header{}}}, connectors.CodeRateLimited, 30 * time.Second},
		{"primary 403", &gh.RateLimitError{Rate: gh.Rate{Reset: gh.Timestamp{Time: now.Add(time.Hour)}},
			Response: &http.Response{StatusCode: 403, Header: reset}}, connectors.CodeRateLimited, time.Hour},
		{"primary 429", errResp(429, reset, "API rate limit exceeded", ""), connectors.CodeRateLimited, time.Hour},
		{"secondary with Retry-After", &gh.AbuseRateLimitError{RetryAfter: &tenSecs, Response: &http.Response{Header: http.Header{}}}, connectors.CodeRateLimited, 10 * time.Second},
		{"pre-flight secondary refusal", &gh.AbuseRateLimitError{RetryAfter: &tenSecs}, connectors.CodeRateLimited, 10 * time.Second},
		{"secondary without a time", &gh.AbuseRateLimitError{}, connectors.CodeRateLimited, time.Minute},
		{"secondary 429 by documentation URL", errResp(429, http.Header{"Retry-After": {"7"}}, "", "https://docs.github.com/rest#secondary-rate-limits"), connectors.CodeRateLimited, 7 * time.Second},
		{"secondary 403 by message only", errResp(403, nil, "You have exceeded a secondary rate limit.", "https://docs.github.com/rest"), connectors.CodeRateLimited, time.Minute},
		{"429 without any time", errResp(429, nil, "", ""), connectors.CodeRateLimited, time.Minute},
		{"403 permission", errResp(403, nil, "Resource not accessible by integration", ""), connectors.CodePermission, 0},
		{"401", errResp(401, nil, "Bad credentials", ""), connectors.CodePermission, 0},
		{"404", errResp(404, nil, "Not Found", ""), connectors.CodeNotFound, 0},
		{"410", errResp(410, nil, "This issue was deleted", ""), connectors.CodeNotFound, 0},
		{"422", errResp(422, nil, "Validation Failed", ""), connectors.CodeInvalid, 0},
		{"502", errResp(502, nil, "", ""), connectors.CodeTemporary, 0},
		{"connection reset", &url.Error{Op: "Get", URL: "https://api.github.com/repos/acme/widgets?token=canary", Err: syscall.ECONNRESET}, connectors.CodeTemporary, 0},
		{"canceled", context.Canceled, connectors.CodeTemporary, 0},
	}
	newConn := func(t *testing.T) *Connector {
		c, err := New(connectors.Config{ID: "j", Project: "acme/widgets", Token: "t"}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := newConn(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newConn(t).classify("github: test", tc.err, now) // untimed limits count per connector
			if e.Code != tc.code || e.RetryAfter != tc.retry {
				t.Errorf("got %v retry %v, want %v retry %v", e.Code, e.RetryAfter, tc.code, tc.retry)
			}
			if strings.Contains(e.Error(), "canary") || strings.Contains(e.Error(), "https://") {
				t.Errorf("error text holds a URL: %q", e)
			}
		})
	}
	if e := c.classify("op", context.Canceled, now); !errors.Is(e, context.Canceled) {
		t.Errorf("canceled: got %v, want errors.Is context.Canceled", e)
	}
}

// TestUntimedLimitsBackOff: rate-limit answers that name no time (a 429
// without Retry-After, a secondary-limit 403 told only in the body) hold
// the tracker for 1 minute, then 2, 4, … up to 16 while they repeat, as
// GitHub asks; an answer that is no error starts over at 1 minute.
func TestUntimedLimitsBackOff(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var answers []int // status of each next answer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status := answers[0]
		answers = answers[1:]
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		switch status {
		case http.StatusForbidden:
			_, _ = w.Write([]byte(`{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest"}`))
		case http.StatusOK:
			_, _ = w.Write([]byte(`{"number":1,"title":"x","state":"open","html_url":"https://github.example/acme/widgets/issues/1","updated_at":"2026-03-02T09:00:00Z"}`))
		default:
			_, _ = w.Write([]byte(`{"message":"slow down"}`))
		}
	}))
	defer srv.Close()
	c, err := New(connectors.Config{ID: "j", Project: "acme/widgets", Token: "t", URL: srv.URL + "/",
		Now: func() time.Time { return now }}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		status int
		hold   time.Duration // BlockedUntil after the answer, from its time
	}{
		{429, time.Minute}, {429, 2 * time.Minute}, {403, 4 * time.Minute}, {429, 8 * time.Minute},
		{429, 16 * time.Minute}, {403, 16 * time.Minute}, {200, 0}, {403, time.Minute}, {429, 2 * time.Minute},
	}
	for i, st := range steps {
		now = now.Add(20 * time.Minute) // past every hold
		answers = append(answers, st.status)
		_, err := c.Get(context.Background(), "1")
		if (err == nil) != (st.status == http.StatusOK) {
			t.Fatalf("step %d (%d): Get error %v", i+1, st.status, err)
		}
		if got := c.RateLimit().BlockedUntil.Sub(now); st.hold > 0 && got != st.hold {
			t.Errorf("step %d (%d): held for %v, want %v", i+1, st.status, got, st.hold)
		}
		if st.hold == 0 && c.RateLimit().BlockedUntil.After(now) {
			t.Errorf("step %d (%d): held after a success", i+1, st.status)
		}
		if len(answers) != 0 {
			t.Fatalf("step %d: %d answers left; want the request sent once", i+1, len(answers))
		}
	}
}
