package reliability

// The TLS half of the outbound-safety tests (reliability plan O4, checklist
// T12); outbound_test.go has the redirect half and the shared helpers.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pmsync/pmsync/config"
	"github.com/pmsync/pmsync/connectors"
)

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
