package daemon_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pmsync/pmsync/sync/daemon"
)

// TestReportOverHTTP asks the running daemon for a customer's monthly
// review report: Markdown or HTML built from its store, with the bearer
// token it requires; bad parameters are refused with the parameter named.
func TestReportOverHTTP(t *testing.T) {
	h := withToken(t)
	keys := h.fileItems(2, "janecorp")
	eventually(t, 20*time.Second, "2 links", func() string {
		if n := h.links("janecorp"); n != 2 {
			return "links: " + itoa(n)
		}
		return ""
	})
	month := time.Now().UTC().Format("2006-01")
	auth := []string{"Authorization", "Bearer " + token}
	path := daemon.ReportPath + "?customer=janecorp&month=" + month

	code, body := h.get(path, auth...)
	if code != http.StatusOK || !strings.Contains(body, "## Totals") || !strings.Contains(body, "## Items by incident") {
		t.Fatalf("GET %s: %d\n%s\nwant 200 and the Markdown report", path, code, body)
	}
	for _, key := range keys {
		if strings.Contains(body, key) {
			t.Errorf("the customer's report names the platform's key %s", key)
		}
	}
	if code, body := h.get(path+"&format=html", auth...); code != http.StatusOK || !strings.Contains(body, "<html") {
		t.Errorf("GET %s&format=html: %d, want 200 and an HTML page", path, code)
	}
	for _, tc := range []struct {
		path string
		auth bool
		want int
		says string
	}{
		{path, false, http.StatusUnauthorized, ""},
		{daemon.ReportPath + "?month=" + month, true, http.StatusBadRequest, "customer: required"},
		{daemon.ReportPath + "?customer=nobody&month=" + month, true, http.StatusNotFound, `customer "nobody"`},
		{daemon.ReportPath + "?customer=janecorp&month=11-2026", true, http.StatusBadRequest, `month "11-2026": want YYYY-MM`},
		{daemon.ReportPath + "?customer=janecorp", true, http.StatusBadRequest, "want YYYY-MM"},
		{path + "&format=text", true, http.StatusBadRequest, `format "text": want md or html`},
	} {
		var hdr []string
		if tc.auth {
			hdr = auth
		}
		code, body := h.get(tc.path, hdr...)
		if code != tc.want || !strings.Contains(body, tc.says) {
			t.Errorf("GET %s: %d %q; want %d saying %q", tc.path, code, strings.TrimSpace(body), tc.want, tc.says)
		}
	}
	req, err := http.NewRequest(http.MethodPost, h.d.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(auth[0], auth[1])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST %s: %d, want 405", path, resp.StatusCode)
	}
}

// TestDigestPreviewOverHTTP asks the running daemon for digest previews:
// a customer's, the platform team's, in each format; nothing is sent.
func TestDigestPreviewOverHTTP(t *testing.T) {
	h := withToken(t)
	h.fileItems(1, "janecorp")
	auth := []string{"Authorization", "Bearer " + token}
	for _, tc := range []struct {
		query string
		want  int
		says  string
	}{
		{"customer=janecorp", http.StatusOK, "BROKEN LINKS"},
		{"platform=1", http.StatusOK, "CUSTOMERS"},
		{"customer=janecorp&platform=1&format=md", http.StatusOK, "#"},
		{"customer=janecorp&format=html", http.StatusOK, "<html"},
		{"", http.StatusBadRequest, "customer or platform: required"},
		{"customer=nobody", http.StatusNotFound, `customer "nobody"`},
		{"customer=janecorp&format=pdf", http.StatusBadRequest, `format "pdf"`},
	} {
		code, body := h.get(daemon.DigestPath+"?"+tc.query, auth...)
		if code != tc.want || !strings.Contains(body, tc.says) {
			t.Errorf("GET %s?%s: %d\n%s\nwant %d containing %q", daemon.DigestPath, tc.query, code, body, tc.want, tc.says)
		}
	}
	if code, _ := h.get(daemon.DigestPath + "?platform=1"); code != http.StatusUnauthorized {
		t.Errorf("GET %s without the token: %d, want 401", daemon.DigestPath, code)
	}
}
