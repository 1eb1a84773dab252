package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pmsync/pmsync/config"
	"github.com/pmsync/pmsync/store"
)

// maxDaemonAnswer bounds what fromDaemon reads: a report is a few
// hundred kilobytes at most.
const maxDaemonAnswer = 64 << 20

// fromDaemon asks the `pmsync serve` that cfg describes (and that holds
// the store) for path with query q, as an HTTP client on its listener with
// its bearer token, and returns the answer's body. locked is the error of
// opening the store; every failure wraps it, so the exit code stays 3.
func fromDaemon(ctx context.Context, cfg *config.Config, locked error, path string, q url.Values) ([]byte, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("%w; asking the running pmsync serve instead failed: %s", locked, fmt.Sprintf(format, a...))
	}
	host, port, err := net.SplitHostPort(cfg.HTTP.Listen)
	if err != nil {
		return nil, fail("http.listen %q is not host:port", cfg.HTTP.Listen)
	}
	if port == "0" {
		return nil, fail("http.listen %s picks a free port at start, so it cannot be found", cfg.HTTP.Listen)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1" // a listener on every address takes loopback too
	}
	u := url.URL{Scheme: "http", Host: net.JoinHostPort(host, port), Path: path, RawQuery: q.Encode()}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fail("%v", err)
	}
	if cfg.HTTP.Token.IsSet() {
		req.Header.Set("Authorization", "Bearer "+cfg.HTTP.Token.Value())
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fail("%s: %v", u.Host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDaemonAnswer))
	if err != nil {
		return nil, fail("%s: read the answer: %v", u.Host, err)
	}
	if resp.StatusCode != http.StatusOK {
		msg, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
		if len(msg) > 300 {
			msg = msg[:300]
		}
		return nil, fail("%s answered %d: %s", u.Host, resp.StatusCode, msg)
	}
	return body, nil
}

// isLocked reports whether err says another pmsync holds the store.
func isLocked(err error) bool { return errors.Is(err, store.ErrLocked) }
