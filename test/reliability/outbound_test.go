package reliability

// The outbound-safety tests of the tracker connectors (reliability plan O3
// and O4, checklist T10-T12): a tracker's credential goes to that
// tracker's host only, over verified TLS when its URL is https. Each test
// runs the same table over every connector kind, built through the
// registry as the daemon builds them.

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	_ "github.com/pmsync/pmsync/connectors/all"
)

// outboundKind is one connector kind under test and how to address it.
type outboundKind struct {
	name, kind, flavor, project, key, user string
	suffix                                 string // appended to the server URL: GitHub's API base
}

var outboundKinds = []outboundKind{
	{name: "github", kind: "github", project: "janecorp/rel", key: "janecorp/rel#1", suffix: "/api/v3/"},
	{name: "gitlab", kind: "gitlab", project: "acme/ops", key: "acme/ops#1"},
	{name: "jira cloud", kind: "jira", flavor: "cloud", project: "GLX", key: "GLX-1", user: "bot@globex.example"},
	{name: "jira datacenter", kind: "jira", flavor: "datacenter", project: "PLAT", key: "PLAT-1"},
}

// token is the kind's credential: a canary no other host may ever see.
func (k outboundKind) token() string {
	return "OUTBOUND-CANARY-" + strings.ReplaceAll(k.name, " ", "-") + "-5e0c"
}

// config addresses a tracker at base (an httptest server URL).
func (k outboundKind) config(base string, hc *http.Client) connectors.Config {
	return connectors.Config{
		ID: "t-" + strings.ReplaceAll(k.name, " ", "-"), Kind: k.kind, Flavor: k.flavor,
		URL: base + k.suffix, Project: k.project, Token: k.token(), User: k.user, HTTPClient: hc,
	}
}

// connect builds the connector through the registry.
func (k outboundKind) connect(t *testing.T, cfg connectors.Config) connectors.Connector {
	t.Helper()
	c, err := connectors.New(cfg)
	if err != nil {
		t.Fatalf("%s: connectors.New: got %v, want a connector", k.name, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// credentialIn reports whether h carries token in any header, as it is
// (Bearer, PRIVATE-TOKEN) or inside basic auth.
func credentialIn(h http.Header, token string) bool {
	for _, vs := range h {
		for _, v := range vs {
			if strings.Contains(v, token) {
				return true
			}
			if b64, ok := strings.CutPrefix(v, "Basic "); ok {
				if dec, err := base64.StdEncoding.DecodeString(b64); err == nil && bytes.Contains(dec, []byte(token)) {
					return true
				}
			}
		}
	}
	return false
}

// seenRequest is what a test server was sent.
type seenRequest struct {
	method, path string
	header       http.Header
	body         string
}

// recorder keeps every request a test server received.
type recorder struct {
	mu   sync.Mutex
	reqs []seenRequest
}

func (rc *recorder) record(r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.reqs = append(rc.reqs, seenRequest{method: r.Method, path: r.URL.Path, header: r.Header.Clone(), body: string(body)})
}

func (rc *recorder) all() []seenRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]seenRequest(nil), rc.reqs...)
}

// withCredential counts the requests that carried token.
func (rc *recorder) withCredential(token string) int { return countCredential(rc.all(), token) }

// notFound answers like a tracker that has no such item.
func notFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	_, _ = io.WriteString(w, `{"message":"Not Found","errorMessages":["Issue does not exist"]}`)
}

// quietServer starts an httptest server whose TLS handshake failures are
// not logged (several tests provoke them on purpose).
func quietServer(h http.Handler) *httptest.Server {
	s := httptest.NewUnstartedServer(h)
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	return s
}

// listenSecondHost listens on 127.0.0.2, a host other than the tracker's
// 127.0.0.1, or on 127.0.0.1 where that address is missing (another port
// is another host for a redirect all the same).
func listenSecondHost(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		if l, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatalf("listen: %v", err)
		}
	}
	return l
}

// wire is the network under a test connector's client. It dials the
// addresses it knows and sends every other dial to the trap, so that a
// followed redirect to 10.0.0.5 or 169.254.169.254 is seen here and never
// leaves the machine. It keeps what the client wrote on every connection.
type wire struct {
	trap  string
	mu    sync.Mutex
	known map[string]bool
	dials []string
	conns []*tapConn
}

func newWire(trap string, known ...string) *wire {
	w := &wire{trap: trap, known: map[string]bool{trap: true}}
	for _, k := range known {
		w.known[k] = true
	}
	return w
}

func (w *wire) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	w.mu.Lock()
	w.dials = append(w.dials, addr)
	to := addr
	if !w.known[addr] {
		to = w.trap
	}
	w.mu.Unlock()
	c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, to)
	if err != nil {
		return nil, err
	}
	tc := &tapConn{Conn: c}
	w.mu.Lock()
	w.conns = append(w.conns, tc)
	w.mu.Unlock()
	return tc, nil
}

// client is an HTTP client over the wire that trusts the CA of tlsSrv
// (nil: the system roots), as a caller such as the daemon passes one.
func (w *wire) client(tlsSrv *httptest.Server) *http.Client {
	tr := &http.Transport{DialContext: w.dial}
	if tlsSrv != nil {
		tr.TLSClientConfig = tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: tr}
}

// otherDials lists the dialled addresses other than addr.
func (w *wire) otherDials(addr string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, d := range w.dials {
		if d != addr {
			out = append(out, d)
		}
	}
	return out
}

// plaintext is everything written on connections that did not start with
// a TLS handshake.
func (w *wire) plaintext() []byte {
	w.mu.Lock()
	conns := append([]*tapConn(nil), w.conns...)
	w.mu.Unlock()
	var out []byte
	for _, c := range conns {
		c.mu.Lock()
		if b := c.sent.Bytes(); len(b) > 0 && b[0] != 0x16 { // 0x16: TLS handshake record
			out = append(out, b...)
		}
		c.mu.Unlock()
	}
	return out
}

// tapConn keeps the first MiB a client wrote on a connection.
type tapConn struct {
	net.Conn
	mu   sync.Mutex
	sent bytes.Buffer
}

func (c *tapConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.sent.Len() < 1<<20 {
		c.sent.Write(p)
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// plaintextCarries reports whether b holds token as it is or in basic auth.
func plaintextCarries(b []byte, token, user string) bool {
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + token))
	return bytes.Contains(b, []byte(token)) || bytes.Contains(b, []byte(basic))
}

// locationSecret rides in the query of every redirect target: an error
// that quoted the Location would show it.
const locationSecret = "LOCATION-SECRET-3a91"

// bodyCanary is the comment a redirected write carries.
const bodyCanary = "BODY-CANARY-redirected-write-c44f"

// TestOutboundRedirectRefused (O3, T10): a tracker that answers with a
// redirect to another host, to a private or link-local address, or from
// https to plain http does not get it followed. The credential never
// reaches another host or crosses the wire in the clear, nothing is
// dialled but the tracker, and the connector returns an invalid-request
// error whose text holds neither the token nor the redirect target.
func TestOutboundRedirectRefused(t *testing.T) {
	trapRec := &recorder{}
	trap := quietServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		trapRec.record(r)
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{}`)
	}))
	trap.Listener = listenSecondHost(t)
	trap.Start()
	defer trap.Close()
	trapAddr := trap.Listener.Addr().String()

	cases := []struct {
		name  string
		tls   bool
		code  int
		write bool
		// to is the redirect target for a request to path on the tracker
		// at addr (host:port).
		to func(addr, path string) string
	}{
		{name: "302 to another host", code: http.StatusFound,
			to: func(_, p string) string { return "http://" + trapAddr + p }},
		{name: "307 write to another host", code: http.StatusTemporaryRedirect, write: true,
			to: func(_, p string) string { return "http://" + trapAddr + p }},
		{name: "302 to a private address", code: http.StatusFound,
			to: func(_, p string) string { return "http://10.0.0.5" + p }},
		{name: "307 to the metadata address", code: http.StatusTemporaryRedirect,
			to: func(_, _ string) string { return "http://169.254.169.254/latest/meta-data/iam/security-credentials/" }},
		{name: "301 to the same address by another name", code: http.StatusMovedPermanently,
			to: func(addr, p string) string {
				_, port, _ := net.SplitHostPort(addr)
				return "http://localhost:" + port + p
			}},
		{name: "302 from https to plain http on the same host", tls: true, code: http.StatusFound,
			to: func(addr, p string) string { return "http://" + addr + p }},
		{name: "308 write from https to plain http", tls: true, code: http.StatusPermanentRedirect, write: true,
			to: func(addr, p string) string { return "http://" + addr + p }},
	}
	for _, tc := range cases {
		for _, k := range outboundKinds {
			t.Run(tc.name+"/"+k.name, func(t *testing.T) {
				trackerRec := &recorder{}
				srv := quietServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					trackerRec.record(r)
					w.Header().Set("Location", tc.to(r.Host, r.URL.Path)+"?sig="+locationSecret)
					w.WriteHeader(tc.code)
				}))
				if tc.tls {
					srv.StartTLS()
				} else {
					srv.Start()
				}
				defer srv.Close()
				addr := srv.Listener.Addr().String()
				wr := newWire(trapAddr, addr)
				var tlsSrv *httptest.Server
				if tc.tls {
					tlsSrv = srv
				}
				conn := k.connect(t, k.config(srv.URL, wr.client(tlsSrv)))
				before := len(trapRec.all())

				var err error
				if tc.write {
					_, err = conn.AddComment(t.Context(), k.key, "", bodyCanary)
				} else {
					_, err = conn.Get(t.Context(), k.key)
				}

				if !errors.Is(err, connectors.ErrInvalid) {
					t.Errorf("error: got %v, want an invalid-request error (redirect refused)", err)
				}
				if err != nil {
					for _, bad := range []string{k.token(), locationSecret, "10.0.0.5", "169.254", trapAddr} {
						if strings.Contains(err.Error(), bad) {
							t.Errorf("error text %q holds %q", err, bad)
						}
					}
				}
				if len(trackerRec.all()) == 0 {
					t.Fatalf("the tracker got no request; the case proves nothing")
				}
				if tc.write && !sawWrite(trackerRec.all()) {
					t.Errorf("the tracker got no write carrying the comment; the case proves nothing")
				}
				if got := trapRec.all()[before:]; len(got) != 0 {
					t.Errorf("requests that reached another host: got %d (%d with the token), want 0", len(got), countCredential(got, k.token()))
				}
				if got := wr.otherDials(addr); len(got) != 0 {
					t.Errorf("dialled other addresses: got %v, want none", got)
				}
				if tc.tls && plaintextCarries(wr.plaintext(), k.token(), k.user) {
					t.Errorf("the credential was sent over plain http")
				}
				if tc.tls && bytes.Contains(wr.plaintext(), []byte(bodyCanary)) {
					t.Errorf("the comment body was sent over plain http")
				}
			})
		}
	}
}

// sawWrite reports whether one of reqs was a write carrying bodyCanary.
func sawWrite(reqs []seenRequest) bool {
	for _, r := range reqs {
		if r.method != http.MethodGet && strings.Contains(r.body, bodyCanary) {
			return true
		}
	}
	return false
}

func countCredential(reqs []seenRequest, token string) int {
	n := 0
	for _, r := range reqs {
		if credentialIn(r.header, token) {
			n++
		}
	}
	return n
}

// TestOutboundRedirectSameHost: redirects within the tracker's host are
// followed (a renamed repository, a moved project), five in a row at the
// most, with the credential kept; the sixth is refused.
func TestOutboundRedirectSameHost(t *testing.T) {
	for _, hops := range []int{1, connectors.MaxRedirects, connectors.MaxRedirects + 1} {
		for _, k := range outboundKinds {
			t.Run(fmt.Sprintf("%d hops/%s", hops, k.name), func(t *testing.T) {
				rec := &recorder{}
				srv := quietServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					rec.record(r)
					n, rest := 0, r.URL.Path
					if _, err := fmt.Sscanf(r.URL.Path, "/hop/%d/", &n); err == nil {
						rest = strings.TrimPrefix(r.URL.Path, fmt.Sprintf("/hop/%d", n))
					}
					if n == hops {
						notFound(w)
						return
					}
					target := fmt.Sprintf("/hop/%d%s", n+1, rest)
					if r.URL.RawQuery != "" {
						target += "?" + r.URL.RawQuery
					}
					http.Redirect(w, r, target, http.StatusTemporaryRedirect)
				}))
				srv.Start()
				defer srv.Close()
				conn := k.connect(t, k.config(srv.URL, nil))
				_, err := conn.Get(t.Context(), k.key)
				final := fmt.Sprintf("/hop/%d/", hops)
				var reached, withToken int
				for _, r := range rec.all() {
					if strings.HasPrefix(r.path, final) {
						reached++
						if credentialIn(r.header, k.token()) {
							withToken++
						}
					}
				}
				if hops <= connectors.MaxRedirects {
					if !errors.Is(err, connectors.ErrNotFound) {
						t.Errorf("error: got %v, want not found (the answer after %d redirects)", err, hops)
					}
					if reached == 0 || withToken != reached {
						t.Errorf("requests after %d redirects: got %d, %d with the credential; want at least 1, all with it", hops, reached, withToken)
					}
					return
				}
				if !errors.Is(err, connectors.ErrInvalid) {
					t.Errorf("error: got %v, want an invalid-request error (too many redirects)", err)
				}
				if reached != 0 {
					t.Errorf("requests after %d redirects: got %d, want 0", hops, reached)
				}
			})
		}
	}
}
