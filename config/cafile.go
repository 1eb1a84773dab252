package config

import (
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pmsync/pmsync/connectors"
)

// maxCAFileSize bounds a ca_file; real bundles are a few hundred KiB.
const maxCAFileSize = 4 << 20

// validateCAFiles checks the ca_file of every tracker (see validateCAFile).
func validateCAFiles(c *collector, cfg *Config, dir string) {
	validateCAFile(c, "platform.tracker", &cfg.Platform.Tracker, dir)
	for i := range cfg.Customers {
		validateCAFile(c, join(index("customers", i), "tracker"), &cfg.Customers[i].Tracker, dir)
	}
}

// validateCAFile makes the ca_file of the tracker at path absolute against
// dir and checks that it is a readable PEM bundle with at least one
// certificate, for a tracker reached over https.
func validateCAFile(c *collector, path string, t *Tracker, dir string) {
	key := join(path, "ca_file")
	if _, written := c.lines[key]; !written && t.CAFile == "" {
		return
	}
	switch {
	case strings.TrimSpace(t.CAFile) == "":
		c.errf(key, "must not be empty (remove the key to trust the system's certificate authorities only)")
		return
	case strings.HasPrefix(strings.ToLower(t.URL), "http://"):
		c.errf(key, "only used with an https:// url; the url is plain http")
		return
	}
	if !filepath.IsAbs(t.CAFile) {
		t.CAFile = filepath.Join(dir, t.CAFile)
	}
	if _, err := loadCAFile(t.CAFile); err != nil {
		c.errf(key, "%v", err)
	}
}

// loadCAFile returns the system's certificate authorities plus those of
// the PEM bundle in file name.
func loadCAFile(name string) (*x509.CertPool, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("cannot read it: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCAFileSize+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("cannot read it: %w", err)
	case len(data) > maxCAFileSize:
		return nil, fmt.Errorf("%s is larger than %d bytes; want a PEM bundle of CA certificates", name, maxCAFileSize)
	}
	roots, err := connectors.SystemRootsWith(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %v; want a PEM bundle of CA certificates (-----BEGIN CERTIFICATE-----)", name, err)
	}
	return roots, nil
}
