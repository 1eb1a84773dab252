package jira_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pmsync/pmsync/connectors/jira"
)

// FuzzWikiConversion feeds arbitrary text through the Markdown↔Jira wiki
// converters, as Markdown (a body pmsync writes to Jira) or as wiki markup
// (a body a person wrote in Jira). Bar: no panic, no input slower than 1 s,
// no output blow-up, valid UTF-8 in gives valid UTF-8 out, and the
// documented stability: for Markdown m, WikiToMarkdown(MarkdownToWiki(m))
// is a fixed point of the pair, so a body synced back and forth stops
// changing after one round and never makes an endless write loop.
func FuzzWikiConversion(f *testing.F) {
	f.Add("## Customer summary\n\nAdd **uncached-read** latency tests.\n\n- one\n  - two\n1. three\n", false)
	f.Add("h2. Summary\n\n*bold* _it_ {{code}} [link|https://example.com]\n# one\n## two\n{code:go}\nx := 1\n{code}", true)
	f.Fuzz(func(t *testing.T, text string, isWiki bool) {
		start := time.Now()
		var md string
		if isWiki {
			md = jira.WikiToMarkdown(text)
			checkGrowth(t, "WikiToMarkdown", text, md)
		} else {
			w := jira.MarkdownToWiki(text)
			checkGrowth(t, "MarkdownToWiki", text, w)
			md = text
		}
		w1 := jira.MarkdownToWiki(md)
		m1 := jira.WikiToMarkdown(w1)
		w2 := jira.MarkdownToWiki(m1)
		m2 := jira.WikiToMarkdown(w2)
		if d := time.Since(start); d > time.Second {
			t.Fatalf("conversions took %v on a %d-byte input, want under 1s", d, len(text))
		}
		if m1 != m2 {
			t.Fatalf("round trip is not stable:\ninput  %q\nround1 %q\nround2 %q\nwiki1  %q\nwiki2  %q", md, m1, m2, w1, w2)
		}
		if utf8.ValidString(text) {
			for name, s := range map[string]string{"wiki": w1, "markdown": m1} {
				if !utf8.ValidString(s) {
					t.Fatalf("valid UTF-8 input gave invalid UTF-8 %s: %q", name, s)
				}
			}
		}
	})
}

// checkGrowth fails when a conversion blows its input up beyond any
// escaping a converter needs.
func checkGrowth(t *testing.T, name, in, out string) {
	t.Helper()
	if limit := 16*len(in) + 64; len(out) > limit {
		t.Fatalf("%s grew %d bytes into %d (limit %d): %q", name, len(in), len(out), limit, strings.TrimSpace(in))
	}
}
