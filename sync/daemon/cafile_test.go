package daemon_test

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pmsync/pmsync/sync/demo"
)

// TestTrackerWithCAFile runs the daemon with the GitHub customer behind
// HTTPS whose certificate comes from a private authority, named by the
// tracker's ca_file: the daemon's counting transport must take the bundle,
// and the mirrors must be made through it.
func TestTrackerWithCAFile(t *testing.T) {
	sims, err := demo.StartSimulators("")
	if err != nil {
		t.Fatalf("start simulators: %v", err)
	}
	t.Cleanup(sims.Close)
	plain := sims.Endpoint("janecorp").URL()
	target, err := url.Parse(plain)
	if err != nil {
		t.Fatal(err)
	}
	var requests atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(target)
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(tlsSrv.Close)
	dir := t.TempDir()
	caPath := filepath.Join(dir, "internal-ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw})
	if err := os.WriteFile(caPath, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}

	h := start(t, options{dir: dir, sims: sims, edit: func(text string) string {
		old := "url: " + plain + "/"
		i := strings.Index(text, old)
		if i < 0 {
			t.Fatalf("the demo configuration has no %q", old)
		}
		indent := text[strings.LastIndex(text[:i], "\n")+1 : i]
		return strings.Replace(text, old, "url: "+tlsSrv.URL+"/\n"+indent+"ca_file: "+caPath, 1)
	}})
	h.fileItems(2, "janecorp")
	eventually(t, 20*time.Second, "2 links to the GitHub customer over HTTPS", func() string {
		if n := h.links("janecorp"); n != 2 {
			return "links: " + itoa(n)
		}
		return ""
	})
	if requests.Load() == 0 {
		t.Errorf("the HTTPS front of the GitHub simulator got no request")
	}
	if code, body := h.get("/metrics"); code != http.StatusOK || !strings.Contains(body, `tracker="janecorp"`) {
		t.Errorf("GET /metrics: %d; want 200 with janecorp's requests counted", code)
	}
}
