package engine

import (
	"strings"
	"testing"
	"time"
)

// FuzzRedact checks the redaction functions on arbitrary descriptions and
// comments: no panic, nothing slow, no marker or share tag in any output,
// summary output never longer than its input, and scrubbed text free of
// every internal address, key and term.
func FuzzRedact(f *testing.F) {
	seeds := []string{
		"## Customer summary\nShared\n## Internal\nSECRET",
		"<!-- share -->a<!-- /share --> b <!-- share -->",
		"Customer summary\n===\nx\n```\n# y\n```\n",
		"see https://jira.example.internal/browse/PLAT-1 and BetaBank",
		"[x](https://jira.example.internal/a \"t\") <!-- pmsync:abc -->",
		"# Customer summary #\n<!-- pmsync:<!-- pmsync:x -->y -->",
	}
	for _, s := range seeds {
		f.Add(s, "[customer]")
	}
	s := testScrubber()
	f.Fuzz(func(t *testing.T, text, prefix string) {
		start := time.Now()
		sum := ExtractSummary(text)
		if len(sum) > len(text) {
			t.Fatalf("summary longer than input: %d > %d", len(sum), len(text))
		}
		for _, mode := range []DescriptionMode{DescriptionNone, DescriptionSummary, DescriptionFull} {
			out := SharedDescription(text, mode)
			if shareTagRE.MatchString(out) {
				t.Fatalf("mode %s output holds a share tag: %q", mode, out)
			}
			if mode == DescriptionNone && out != "" {
				t.Fatalf("mode none shared %q", out)
			}
		}
		scrubbed := s.Text(text)
		if s.Leaks(scrubbed) {
			t.Fatalf("scrubbed text still leaks: %q", scrubbed)
		}
		if markerCommentRE.MatchString(scrubbed) || len(scrubbed) > MaxTextLen {
			t.Fatalf("scrubbed text holds a marker or is too long (%d bytes)", len(scrubbed))
		}
		if body, ok := SharedComment(text, false, "", true, prefix); ok {
			if prefix == "" || !strings.HasPrefix(unescape(strings.TrimLeft(text, " \t\r\n")), unescape(prefix)) {
				t.Fatalf("platform comment crossed without prefix %q: %q", prefix, body)
			}
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("redaction took %v on a %d-byte input", d, len(text))
		}
	})
}

// unescape drops the backslashes of Markdown escapes of ASCII punctuation.
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
