package reliability

// The outbound-safety tests of the tracker connectors (reliability plan O3
// and O4, checklist T10-T12): a tracker's credential goes to that
// tracker's host only, over verified TLS when its URL is https. Each test
// runs the same table over every connector kind, built through the
// registry as the daemon builds them.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmsync/pmsync/config"
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

// testPKI is a private certificate authority, as a Data Center
// installation has one, and the server certificates it signs.
type testPKI struct {
	ca    *x509.Certificate
	key   *ecdsa.PrivateKey
	pem   []byte         // the CA certificate: a tracker's ca_file
	roots *x509.CertPool // the system roots plus the CA
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pmsync outbound test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPKI{ca: ca, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
	if p.roots, err = connectors.SystemRootsWith(p.pem); err != nil {
		t.Fatalf("SystemRootsWith(the test CA): %v", err)
	}
	return p
}

// leaf issues a server certificate for names (host names or IP
// addresses) valid from notBefore to notAfter, signed by the CA or, with
// selfSigned, by its own key.
func (p *testPKI) leaf(t *testing.T, names []string, notBefore, notAfter time.Time, selfSigned bool) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: names[0]}, NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	parent, signer := p.ca, p.key
	if selfSigned {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		parent, signer = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// tlsTracker starts an https tracker with cert that speaks TLS up to
// maxVersion (0: Go's default versions) and answers every request with h.
func tlsTracker(t *testing.T, cert tls.Certificate, maxVersion uint16, h http.Handler) *httptest.Server {
	t.Helper()
	srv := quietServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	if maxVersion != 0 {
		srv.TLS.MinVersion, srv.TLS.MaxVersion = tls.VersionTLS10, maxVersion
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// byName is srv's URL with the host name localhost instead of its address.
func byName(srv *httptest.Server) string {
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return "https://localhost:" + port
}

// wrapping is a caller's transport over another, like the daemon's metrics
// layer; it passes TLS settings down (connectors.TLSTransport).
type wrapping struct{ base http.RoundTripper }

func (w wrapping) RoundTrip(r *http.Request) (*http.Response, error) { return w.base.RoundTrip(r) }

func (w wrapping) WithTLS(roots *x509.CertPool) (http.RoundTripper, bool) {
	base, ok := connectors.WithTLS(w.base, roots)
	if !ok {
		return nil, false
	}
	return wrapping{base: base}, true
}

// opaque is a caller's transport that cannot pass TLS settings down.
type opaque struct{ base http.RoundTripper }

func (o opaque) RoundTrip(r *http.Request) (*http.Response, error) { return o.base.RoundTrip(r) }

func defaultClone() *http.Transport { return http.DefaultTransport.(*http.Transport).Clone() }

// TestOutboundTLSStrict (O4, T12): a tracker whose certificate is
// self-signed, expired or for another host name, or that speaks only
// TLS 1.0, is refused by every connector kind: whether the client is the
// connector's own or a caller's, and even with the tracker's CA bundle
// (ca_file) configured. Nothing is sent: the server sees no request, so
// neither the token nor the body. A valid certificate from a private CA
// works only where that CA is configured.
func TestOutboundTLSStrict(t *testing.T) {
	pki := newTestPKI(t)
	now := time.Now()
	here := []string{"localhost", "127.0.0.1"}
	valid := pki.leaf(t, here, now.Add(-time.Hour), now.Add(time.Hour), false)
	certs := []struct {
		name       string
		cert       tls.Certificate
		maxVersion uint16
		ok         bool // a client that trusts the CA gets through
	}{
		{name: "valid from the private CA", cert: valid, ok: true},
		{name: "self-signed", cert: pki.leaf(t, here, now.Add(-time.Hour), now.Add(time.Hour), true)},
		{name: "expired", cert: pki.leaf(t, here, now.Add(-48*time.Hour), now.Add(-24*time.Hour), false)},
		{name: "for another host name", cert: pki.leaf(t, []string{"tracker.other.example"}, now.Add(-time.Hour), now.Add(time.Hour), false)},
		{name: "TLS 1.0 only", cert: valid, maxVersion: tls.VersionTLS10},
	}
	setups := []struct {
		name    string
		roots   *x509.CertPool
		client  func() *http.Client
		trusted bool // trusts the private CA
	}{
		{name: "system roots", client: func() *http.Client { return nil }},
		{name: "ca_file", roots: pki.roots, client: func() *http.Client { return nil }, trusted: true},
		{name: "ca_file under a caller's transport", roots: pki.roots, trusted: true,
			client: func() *http.Client { return &http.Client{Transport: wrapping{base: defaultClone()}} }},
		{name: "caller's opaque transport", client: func() *http.Client { return &http.Client{Transport: opaque{base: defaultClone()}} }},
	}
	for _, c := range certs {
		for _, s := range setups {
			for _, k := range outboundKinds {
				t.Run(c.name+"/"+s.name+"/"+k.name, func(t *testing.T) {
					rec := &recorder{}
					srv := tlsTracker(t, c.cert, c.maxVersion, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						rec.record(r)
						notFound(w)
					}))
					cfg := k.config(byName(srv), s.client())
					cfg.RootCAs = s.roots
					conn := k.connect(t, cfg)
					_, err := conn.AddComment(t.Context(), k.key, "", bodyCanary)
					if c.ok && s.trusted {
						if !errors.Is(err, connectors.ErrNotFound) {
							t.Errorf("error: got %v, want not found (the tracker's answer)", err)
						}
						if rec.withCredential(k.token()) == 0 {
							t.Errorf("the tracker got no request with the credential; want the client to get through")
						}
						return
					}
					if err == nil || errors.Is(err, connectors.ErrNotFound) {
						t.Fatalf("error: got %v, want a TLS failure", err)
					}
					if got := rec.all(); len(got) != 0 {
						t.Errorf("requests the server got: %d, want 0", len(got))
					}
					for _, bad := range []string{k.token(), bodyCanary, "https://"} {
						if strings.Contains(err.Error(), bad) {
							t.Errorf("error text %q holds %q", err, bad)
						}
					}
					if !strings.Contains(strings.ToLower(err.Error()), "tls") {
						t.Errorf("error text %q does not say TLS failed", err)
					}
				})
			}
		}
	}
	// The TLS 1.0 server is real: a client that allows TLS 1.0 gets in.
	srv := tlsTracker(t, valid, tls.VersionTLS10, http.NotFoundHandler())
	conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{RootCAs: pki.roots, MinVersion: tls.VersionTLS10})
	if err != nil {
		t.Fatalf("TLS 1.0 handshake with a client that allows it: got %v, want success", err)
	}
	if v := conn.ConnectionState().Version; v != tls.VersionTLS10 {
		t.Errorf("negotiated version: got %x, want %x (TLS 1.0)", v, tls.VersionTLS10)
	}
	_ = conn.Close()
}

// TestOutboundTLSCAFile (O4, T12): ca_file, from the configuration file
// to the connector. Every kind of tracker with ca_file pointing at the
// private CA reaches a server certified by it; the same kinds without it
// refuse the same server and send it nothing.
func TestOutboundTLSCAFile(t *testing.T) {
	pki := newTestPKI(t)
	now := time.Now()
	rec := &recorder{}
	srv := tlsTracker(t, pki.leaf(t, []string{"localhost", "127.0.0.1"}, now.Add(-time.Hour), now.Add(time.Hour), false), 0,
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec.record(r)
			notFound(w)
		}))
	url := byName(srv)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "internal-ca.pem"), pki.pem, 0o600); err != nil {
		t.Fatal(err)
	}

	trackers := []struct {
		id, kind, flavor, path, project, key string
		ca                                   bool
	}{
		{"platform", "jira", "datacenter", "", "PLAT", "PLAT-1", true},
		{"gh-ca", "github", "", "/api/v3/", "gh/ca", "gh/ca#1", true},
		{"gl-ca", "gitlab", "", "", "gl/ca", "gl/ca#1", true},
		{"jc-ca", "jira", "cloud", "", "JCA", "JCA-1", true},
		{"jd-no", "jira", "datacenter", "", "JDNO", "JDNO-1", false},
		{"gh-no", "github", "", "/api/v3/", "gh/no", "gh/no#1", false},
		{"gl-no", "gitlab", "", "", "gl/no", "gl/no#1", false},
		{"jc-no", "jira", "cloud", "", "JCNO", "JCNO-1", false},
	}
	env := map[string]string{"JIRA_USER": "bot@example.com"}
	token := func(id string) string { return "CAFILE-CANARY-" + id + "-0f3b" }
	var doc strings.Builder
	for i, tr := range trackers {
		pad := "      "
		if i == 0 {
			doc.WriteString("platform:\n  name: Example Cloud\n  tracker:\n")
			pad = "    "
		} else {
			if i == 1 {
				doc.WriteString("customers:\n")
			}
			doc.WriteString("  - id: " + tr.id + "\n    tracker:\n")
		}
		tokenEnv := "TOKEN_" + strings.ToUpper(strings.ReplaceAll(tr.id, "-", "_"))
		env[tokenEnv] = token(tr.id)
		lines := []string{"kind: " + tr.kind, "url: " + url + tr.path, "project: " + tr.project, "auth: {token_env: " + tokenEnv}
		if tr.flavor != "" {
			lines = append(lines, "flavor: "+tr.flavor)
		}
		if tr.flavor == "cloud" {
			lines[3] += ", user_env: JIRA_USER"
		}
		lines[3] += "}"
		if tr.ca {
			lines = append(lines, "ca_file: internal-ca.pem") // relative to the config file
		}
		for _, l := range lines {
			doc.WriteString(pad + l + "\n")
		}
	}
	name := filepath.Join(dir, "pmsync.yaml")
	cfg, err := config.Parse([]byte(doc.String()), name, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("Parse:\n%s\n%v", doc.String(), err)
	}

	for _, tr := range trackers {
		t.Run(tr.id, func(t *testing.T) {
			cc, err := cfg.Connector(tr.id)
			if err != nil {
				t.Fatalf("Connector(%s): %v", tr.id, err)
			}
			conn, err := connectors.New(cc)
			if err != nil {
				t.Fatalf("connectors.New(%s): %v", tr.id, err)
			}
			defer conn.Close()
			_, err = conn.AddComment(t.Context(), tr.key, "", bodyCanary)
			got := rec.withCredential(token(tr.id))
			if tr.ca {
				if !errors.Is(err, connectors.ErrNotFound) || got == 0 {
					t.Errorf("with ca_file: got error %v and %d requests with the token, want not found (the server's answer) and at least 1", err, got)
				}
				return
			}
			if err == nil || errors.Is(err, connectors.ErrNotFound) || !strings.Contains(err.Error(), "ca_file") {
				t.Errorf("without ca_file: got %v, want an untrusted-certificate error that mentions ca_file", err)
			}
			if got != 0 {
				t.Errorf("without ca_file: requests with the token: got %d, want 0", got)
			}
		})
	}
}

// TestOutboundTLSCallerTransport: a tracker with ca_file whose caller
// passes a transport that cannot take TLS settings (neither an
// *http.Transport nor a connectors.TLSTransport) is refused when the
// connector is built, rather than quietly trusting the system roots only.
func TestOutboundTLSCallerTransport(t *testing.T) {
	pki := newTestPKI(t)
	for _, k := range outboundKinds {
		cfg := k.config("https://tracker.example", &http.Client{Transport: opaque{base: defaultClone()}})
		cfg.RootCAs = pki.roots
		c, err := connectors.New(cfg)
		if err == nil {
			_ = c.Close()
			t.Errorf("%s: connectors.New with ca_file over an opaque transport: got a connector, want an error", k.name)
			continue
		}
		if !strings.Contains(err.Error(), "ca_file") {
			t.Errorf("%s: got %v, want an error naming ca_file", k.name, err)
		}
		// The same through a transport with its own TLS dialling.
		tr := defaultClone()
		tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return nil, errors.New("not used")
		}
		cfg.HTTPClient = &http.Client{Transport: tr}
		if c, err := connectors.New(cfg); err == nil {
			_ = c.Close()
			t.Errorf("%s: connectors.New with ca_file over a transport that dials TLS itself: got a connector, want an error", k.name)
		}
	}
}

// TestOutboundNoInsecureSkipVerify: certificate verification is never
// switched off outside tests (a grep gate over the repository's non-test
// Go files).
func TestOutboundNoInsecureSkipVerify(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root %s: %v", root, err)
	}
	checked := 0
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "vendor" || n == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		if bytes.Contains(data, []byte("InsecureSkipVerify")) {
			rel, _ := filepath.Rel(root, path)
			t.Errorf("%s sets or mentions InsecureSkipVerify; TLS verification must stay on (use ca_file for a private CA)", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("checked %d Go files under %s, want the whole repository", checked, root)
	}
}
