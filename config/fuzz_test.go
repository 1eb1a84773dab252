package config

import (
	"strings"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary bytes to Parse. It must never panic, must
// answer quickly, and any error must be an ErrorList whose entries have a
// message; a success must be a config that passed validation (a platform
// tracker with a kind). The seed corpus is in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(platformYAML + customerYAML))
	env := func(k string) (string, bool) {
		if strings.HasPrefix(k, "UNSET") {
			return "", false
		}
		return "fuzz-secret-value", true
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		cfg, err := Parse(data, "fuzz.yaml", env)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Parse took %v on a %d-byte input, want under 2s", d, len(data))
		}
		if err != nil {
			list, ok := err.(ErrorList)
			if !ok || len(list) == 0 {
				t.Fatalf("got error %T %v, want a non-empty ErrorList", err, err)
			}
			for _, e := range list {
				if e.Msg == "" {
					t.Errorf("error with empty message at %s:%d %s", e.File, e.Line, e.Path)
				}
			}
			if strings.Contains(err.Error(), "fuzz-secret-value") {
				t.Errorf("error leaks a secret value: %v", err)
			}
			return
		}
		if cfg.Platform.Tracker.Kind == "" || cfg.Platform.Tracker.ID != PlatformID {
			t.Errorf("accepted a config without a platform tracker: %+v", cfg.Platform)
		}
		for _, id := range cfg.TrackerIDs() {
			if _, err := cfg.Connector(id); err != nil {
				t.Errorf("Connector(%q) on an accepted config: %v", id, err)
			}
		}
	})
}
