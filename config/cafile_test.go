package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testCAPEM returns a self-signed CA certificate in PEM.
func testCAPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "config test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// caCustomer is a customer section on a self-managed GitLab whose tracker
// block ends with line (a ca_file key, marked "# <-" when an error is
// expected there).
func caCustomer(url, line string) string {
	return "customers:\n  - id: acme\n    tracker:\n      kind: gitlab\n      url: " + url +
		"\n      project: acme/ops\n      auth: {token_env: ACME_TOKEN}\n" + line
}

// TestConfigCAFile: ca_file is taken relative to the config file, must be
// a readable PEM bundle with a certificate, belongs to https trackers, and
// reaches connectors.Config as RootCAs for that tracker only.
func TestConfigCAFile(t *testing.T) {
	dir := t.TempDir()
	ca := testCAPEM(t)
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("ca.pem", ca)
	absCA := write("abs-ca.pem", append([]byte("# internal CA bundle\n"), ca...))
	write("key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("not a certificate")}))
	write("empty.pem", nil)
	if err := os.Mkdir(filepath.Join(dir, "certs"), 0o700); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "pmsync.yaml")

	good := []struct {
		name, line, want string
	}{
		{"relative path", "      ca_file: ca.pem\n", filepath.Join(dir, "ca.pem")},
		{"absolute path", "      ca_file: " + absCA + "\n", absCA},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte(platformYAML+caCustomer("https://gitlab.acme.example", tc.line)), name, lookup(testEnv))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := cfg.Customers[0].Tracker.CAFile; got != tc.want {
				t.Errorf("CAFile: got %q, want %q", got, tc.want)
			}
			cc, err := cfg.Connector("acme")
			if err != nil {
				t.Fatalf("Connector(acme): %v", err)
			}
			if cc.RootCAs == nil {
				t.Errorf("Connector(acme).RootCAs: got nil, want the system roots plus the bundle")
			}
			pc, err := cfg.Connector(PlatformID)
			if err != nil {
				t.Fatalf("Connector(platform): %v", err)
			}
			if pc.RootCAs != nil {
				t.Errorf("Connector(platform).RootCAs: got a pool, want nil (no ca_file there)")
			}
		})
	}

	bad := []struct {
		name, url, line, wantMsg string
	}{
		{"missing file", "https://gitlab.acme.example", "      ca_file: nowhere.pem # <-\n", "cannot read it"},
		{"a directory", "https://gitlab.acme.example", "      ca_file: certs # <-\n", "cannot read it"},
		{"no certificate in it", "https://gitlab.acme.example", "      ca_file: key.pem # <-\n", "no PEM certificate"},
		{"empty file", "https://gitlab.acme.example", "      ca_file: empty.pem # <-\n", "no PEM certificate"},
		{"empty value", "https://gitlab.acme.example", "      ca_file: \"\" # <-\n", "must not be empty"},
		{"plain http url", "http://gitlab.acme.example", "      ca_file: ca.pem # <-\n", "only used with an https:// url"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			doc := platformYAML + caCustomer(tc.url, tc.line)
			_, err := Parse([]byte(doc), name, lookup(testEnv))
			const wantPath = "customers[0].tracker.ca_file"
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Parse: got %v, want an ErrorList naming %s", err, wantPath)
			}
			wantLine := markedLine(t, doc)
			for _, e := range list {
				if e.Path == wantPath && e.Line == wantLine && strings.Contains(e.Msg, tc.wantMsg) {
					return
				}
			}
			t.Errorf("got errors:\n%v\nwant one at line %s, path %s, containing %q", err, strconv.Itoa(wantLine), wantPath, tc.wantMsg)
		})
	}

	// A bundle that disappears after load is an error of Connector, not a
	// tracker that quietly trusts only the system roots.
	gone := write("gone.pem", ca)
	cfg, err := Parse([]byte(platformYAML+caCustomer("https://gitlab.acme.example", "      ca_file: gone.pem\n")), name, lookup(testEnv))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Connector("acme"); err == nil || !strings.Contains(err.Error(), "ca_file") {
		t.Errorf("Connector after the bundle was removed: got %v, want an error naming ca_file", err)
	}
}
