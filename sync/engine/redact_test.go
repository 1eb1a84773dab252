package engine

import (
	"regexp"
	"strings"
	"testing"
)

func TestExtractSummary(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"no summary", "Root cause: the cache tier.\n\nInternal notes.", ""},
		{"h2 section to next h2",
			"Internal detail.\n\n## Customer summary\nWe add latency tests.\n\n## Timeline\nSECRET timeline",
			"We add latency tests."},
		{"any level, case, colon, emphasis",
			"#### **customer Summary:**\nShared text\n#### Next\nhidden",
			"Shared text"},
		{"deeper headings stay inside",
			"# Customer summary\nA\n## Detail\nB\n# Internal\nC",
			"A\n## Detail\nB"},
		{"higher level ends it",
			"### Customer summary\nA\n# Top\nhidden",
			"A"},
		{"to end of text", "x\n## Customer summary\n\nline 1\nline 2\n", "line 1\nline 2"},
		{"closing hashes", "## Customer summary ##\nA\n## B\nC", "A"},
		{"setext heading",
			"Customer summary\n----------------\nShared\n\nOther\n-----\nhidden",
			"Shared"},
		{"setext h1 ends at h1 only",
			"Customer summary\n===\nA\n## Sub\nB\nNext\n===\nC",
			"A\n## Sub\nB"},
		{"heading in code fence ignored",
			"```\n## Customer summary\n```\nhidden",
			""},
		{"fenced heading does not end section",
			"## Customer summary\nA\n```\n## not a heading\n```\nB\n## End\nC",
			"A\n```\n## not a heading\n```\nB"},
		{"share markers", "internal <!-- share -->visible part<!-- /share --> internal", "visible part"},
		{"share markers spacing and case", "a\n<!--SHARE-->\nx\n<!-- / share -->\nb", "x"},
		{"two share blocks", "<!-- share -->one<!-- /share -->mid<!-- share -->two<!-- /share -->", "one\n\ntwo"},
		{"unclosed share shares nothing", "a <!-- share --> b", ""},
		{"close before open", "<!-- /share --> a <!-- share --> b", ""},
		{"section and block in order",
			"<!-- share -->first<!-- /share -->\n## Customer summary\nsecond\n## X\nhidden",
			"first\n\nsecond"},
		{"block inside section merges",
			"## Customer summary\nA <!-- share -->B<!-- /share --> C\n## X\nD",
			"A B C"},
		{"not the heading text", "## Customer summary and more\nA", ""},
		{"heading needs space", "##Customer summary\nA", ""},
		{"empty section", "## Customer summary\n## Next\nA", ""},
		{"crlf", "## Customer summary\r\nA\r\n## B\r\nC", "A"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ExtractSummary(tc.in); got != tc.want {
				t.Errorf("ExtractSummary(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestSharedDescription(t *testing.T) {
	desc := "Internal SECRET\n\n## Customer summary\nShared.\n"
	tests := []struct {
		mode DescriptionMode
		want string
	}{
		{DescriptionNone, ""},
		{DescriptionSummary, "Shared."},
		{DescriptionFull, "Internal SECRET\n\n## Customer summary\nShared."},
		{"bogus", ""},
	}
	for _, tc := range tests {
		if got := SharedDescription(desc, tc.mode); got != tc.want {
			t.Errorf("SharedDescription(mode %q) = %q, want %q", tc.mode, got, tc.want)
		}
	}
	if got := SharedDescription("a <!-- share -->b<!-- /share -->", DescriptionFull); got != "a b" {
		t.Errorf("full mode keeps share tags: got %q, want %q", got, "a b")
	}
}

func TestSharedComment(t *testing.T) {
	tests := []struct {
		name         string
		body         string
		restricted   bool
		marker       string
		fromPlatform bool
		prefix       string
		want         string
		ok           bool
	}{
		{"customer comment crosses", "Looks good", false, "", false, "[customer]", "Looks good", true},
		{"platform needs prefix", "internal chatter", false, "", true, "[customer]", "", false},
		{"platform prefix stripped", "  [customer] Fixed in build 42", false, "", true, "[customer]", "Fixed in build 42", true},
		{"escaped prefix", "\\[customer\\] Fixed", false, "", true, "[customer]", "Fixed", true},
		{"half-escaped prefix", "\\[customer] Fixed", false, "", true, "[customer]", "Fixed", true},
		{"escaped letters are not the prefix", "\\[\\customer] x", false, "", true, "[customer]", "", false},
		{"prefix not at start", "see [customer] x", false, "", true, "[customer]", "", false},
		{"empty prefix shares nothing", "hello", false, "", true, "", "", false},
		{"prefix only", "[customer]   ", false, "", true, "[customer]", "", false},
		{"restricted never", "[customer] x", true, "", true, "[customer]", "", false},
		{"restricted customer", "x", true, "", false, "", "", false},
		{"marker never", "x", false, "abc123", false, "", "", false},
		{"marker in body never", "x\n<!-- pmsync:abc -->", false, "", false, "", "", false},
		{"empty body", "  \n", false, "", false, "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := SharedComment(tc.body, tc.restricted, tc.marker, tc.fromPlatform, tc.prefix)
			if got != tc.want || ok != tc.ok {
				t.Errorf("SharedComment = (%q, %v), want (%q, %v)", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestAttribute(t *testing.T) {
	tests := []struct{ author, org, body, want string }{
		{"Alice", "JaneCorp", "Done.", "Alice (JaneCorp) wrote:\n\nDone."},
		{"", "Example Cloud", "x", "Someone (Example Cloud) wrote:\n\nx"},
		{"Bob\n# <!-- pmsync:abc --> [x]", "Example Cloud", "x", "Bob x (Example Cloud) wrote:\n\nx"},
	}
	for _, tc := range tests {
		if got := Attribute(tc.author, tc.org, tc.body); got != tc.want {
			t.Errorf("Attribute(%q, %q) = %q, want %q", tc.author, tc.org, got, tc.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	long := strings.Repeat("é", MaxTextLen)
	got := Truncate(long)
	if len(got) > MaxTextLen {
		t.Fatalf("Truncate length = %d, want <= %d", len(got), MaxTextLen)
	}
	if !strings.HasSuffix(got, truncatedNote) {
		t.Errorf("Truncate did not say it cut the text")
	}
	if !strings.HasPrefix(got, "éé") || strings.ContainsRune(got, '\uFFFD') {
		t.Errorf("Truncate cut inside a rune")
	}
	if Truncate("short") != "short" {
		t.Errorf("Truncate changed a short text")
	}
}

func TestStripMarkers(t *testing.T) {
	in := "a <!-- pmsync:abc --> b <!--PMSYNC:zzz bogus--> c <!-- pmsync:<!-- pmsync:x -->y -->"
	got := StripMarkers(in)
	if strings.Contains(strings.ToLower(got), "pmsync:") {
		t.Errorf("StripMarkers(%q) = %q, still holds a marker", in, got)
	}
}

func testScrubber() *Scrubber {
	return NewScrubber(
		[]string{"https://jira.example.internal", "github.com/example/platform-ops/"},
		[]*regexp.Regexp{KeyPattern("jira", "PLAT")},
		[]string{"BetaBank", "betabank"},
	)
}

func TestScrubberText(t *testing.T) {
	s := testScrubber()
	tests := []struct{ name, in, want string }{
		{"plain", "Add latency tests", "Add latency tests"},
		{"bare url", "see https://jira.example.internal/browse/PLAT-1 now", "see [internal link] now"},
		{"no scheme, upper case", "JIRA.EXAMPLE.INTERNAL/x", "[internal link]"},
		{"markdown link keeps text", "[the runbook](https://jira.example.internal/wiki/x) here", "the runbook here"},
		{"other markdown link kept", "[docs](https://docs.example.com/a)", "[docs](https://docs.example.com/a)"},
		{"repo path prefix", "https://github.com/example/platform-ops/issues/3", "[internal link]"},
		{"other repo kept", "https://github.com/janecorp/x/issues/3", "https://github.com/janecorp/x/issues/3"},
		{"nested url", "https://jira.inthttps://jira.example.internal/x", "https://[internal link]"},
		{"key", "follow-up of PLAT-123 and plat-9", "follow-up of [internal reference] and [internal reference]"},
		{"key needs boundary", "XPLAT-12", "XPLAT-12"},
		{"other customer", "as seen at BetaBank, and betabank's", "as seen at [redacted], and [redacted]'s"},
		{"term inside word kept", "BetaBanking", "BetaBanking"},
		{"markers removed", "x <!-- pmsync:abc --> <!-- share -->y", "x  y"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := s.Text(tc.in)
			if got != tc.want {
				t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if s.Leaks(got) {
				t.Errorf("Text(%q) = %q still leaks", tc.in, got)
			}
		})
	}
	var nilScrubber *Scrubber
	if got := nilScrubber.Text("a <!-- pmsync:x --> b"); got != "a  b" {
		t.Errorf("nil scrubber Text = %q, want %q", got, "a  b")
	}
}

func TestScrubberIgnoresTermsInsideReplacements(t *testing.T) {
	s := NewScrubber([]string{"internal"}, nil, []string{"redacted", "link", "ab"})
	if got := s.Text("an internal redacted link ab"); got != "an internal redacted link ab" {
		t.Errorf("Text = %q, want the text unchanged (unsafe prefixes and terms are ignored)", got)
	}
}

func TestKeyPattern(t *testing.T) {
	tests := []struct{ kind, project, text string }{
		{"jira", "PLAT", "PLAT-1"},
		{"github", "example/platform", "example/platform#12"},
		{"gitlab", "grp/proj", "grp/proj!4"},
	}
	for _, tc := range tests {
		if re := KeyPattern(tc.kind, tc.project); re == nil || !re.MatchString(tc.text) {
			t.Errorf("KeyPattern(%q, %q) does not match %q", tc.kind, tc.project, tc.text)
		}
	}
	if KeyPattern("jira", "") != nil {
		t.Errorf("KeyPattern with an empty project = non-nil, want nil")
	}
}

// TestRedactPathological runs inputs that made earlier versions quadratic
// (nested tags removed one per pass); the test's run time is the guard.
func TestRedactPathological(t *testing.T) {
	s := testScrubber()
	inputs := []string{
		strings.Repeat("# Customer summary\n", 5000),
		strings.Repeat("<!--shAre", 5000) + strings.Repeat("-->", 5000),
		strings.Repeat("<!-- pmsync:", 5000) + strings.Repeat("-->", 5000),
		strings.Repeat("betabankx ", 5000),
		strings.Repeat("jira.example.internal", 3000),
		strings.Repeat("[a](", 10000),
		strings.Repeat("```\n", 10000),
		strings.Repeat("a\n---\n", 10000),
		strings.Repeat("<!-- share --><!-- /share -->", 5000),
	}
	for i, in := range inputs {
		out := s.Text(in)
		if s.Leaks(out) || markerCommentRE.MatchString(out) || shareTagRE.MatchString(out) {
			t.Errorf("input %d: scrubbed text still leaks or holds a tag", i)
		}
		if got := SharedDescription(in, DescriptionFull); shareTagRE.MatchString(got) {
			t.Errorf("input %d: full description holds a share tag", i)
		}
		ExtractSummary(in)
	}
}
