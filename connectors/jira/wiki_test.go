package jira

import (
	"strings"
	"testing"
	"time"
)

func TestMarkdownToWiki(t *testing.T) {
	tests := []struct {
		name, md, want string
	}{
		{"headings", "# One\n### Three", "h1. One\nh3. Three"},
		{"bold and italic", "a **bold** and _it_ and *it2*", "a *bold* and _it_ and _it2_"},
		{"bold underscores", "__strong__", "*strong*"},
		{"strikethrough", "~~gone~~", "-gone-"},
		{"code span", "run `make test` now", "run {{make test}} now"},
		{"code span escapes", "`a*b{c}`", `{{a\*b\{c\}}}`},
		{"code block with language", "```go\nx := []int{1}\n```", "{code:go}\nx := []int{1}\n{code}"},
		{"code block without language", "```\nplain *text*\n```", "{code}\nplain *text*\n{code}"},
		{"code block holding {code}", "```\n{code}\n```", "{noformat}\n{code}\n{noformat}"},
		{"link", "[runbook](https://wiki.example/rb_1)", "[runbook|https://wiki.example/rb_1]"},
		{"autolink", "<https://x.example>", "[https://x.example]"},
		{"bare url kept whole", "see https://x.example/a_b-c?d=e_f.", "see https://x.example/a_b-c?d=e_f."},
		{"image", "![graph](https://x.example/g.png)", "!https://x.example/g.png|alt=graph!"},
		{"bullets nested", "- a\n  - b\n- c", "* a\n** b\n* c"},
		{"numbered with bullet child", "1. a\n2. b\n   - c", "# a\n# b\n#* c"},
		{"quote", "> q1\n> q2", "{quote}\nq1\nq2\n{quote}"},
		{"table", "| a | b |\n|---|---|\n| 1 | 2 |", "||a||b||\n|1|2|"},
		{"rule", "---", "----"},
		{"html comment kept", "<!-- share -->\ntext\n<!-- /share -->", "<!-- share -->\ntext\n<!-- /share -->"},
		{"braces escaped", "json {a} and [x]", `json \{a\} and \[x\]`},
		{"intraword underscore kept", "snake_case_name", "snake_case_name"},
		{"isolated star kept", "2 * 3", "2 * 3"},
		{"leading star escaped", `\*not bold\*`, `\*not bold\*`},
		{"line start hash escaped", `\# not a heading`, `\# not a heading`},
		{"line start h1 escaped", "h1. is text here", `h1\. is text here`},
		{"html spans", "x<sup>2</sup> <ins>u</ins>", "x^2^ +u+"},
		{"unicode untouched", "東京 — ≥ 2× 🚀", "東京 — ≥ 2× 🚀"},
	}
	for _, tc := range tests {
		if got := MarkdownToWiki(tc.md); got != tc.want {
			t.Errorf("%s: MarkdownToWiki(%q) got %q, want %q", tc.name, tc.md, got, tc.want)
		}
	}
}

func TestWikiToMarkdown(t *testing.T) {
	tests := []struct {
		name, wiki, want string
	}{
		{"headings", "h2. Two", "## Two"},
		{"effects", "*b* _i_ -s- +u+ ^sup^ ~sub~", "**b** _i_ ~~s~~ <ins>u</ins> <sup>sup</sup> <sub>sub</sub>"},
		{"monospace", "{{a\\*b}}", "`a*b`"},
		{"monospace with backtick", "{{a`b}}", "``a`b``"},
		{"code with title and language", "{code:title=x.go|language=go}\nfmt.Println()\n{code}", "```go\nfmt.Println()\n```"},
		{"noformat", "{noformat}\n*raw*\n{noformat}", "```\n*raw*\n```"},
		{"code on one line", "{code}x := 1{code}", "```\nx := 1\n```"},
		{"link", "[text|https://x.example]", "[text](https://x.example)"},
		{"bare link", "[https://x.example]", "<https://x.example>"},
		{"mention", "[~accountid:5b10a]", "@5b10a"},
		{"image with options", "!g.png|thumbnail!", "![](g.png)"},
		{"bq", "bq. quoted", "> quoted"},
		{"quote block", "{quote}\nq *b*\n{quote}", "> q **b**"},
		{"quote on one line", "{quote}q{quote}", "> q"},
		{"lists", "* a\n** b\n# c\n# d", "- a\n  - b\n1. c\n2. d"},
		{"dash list", "- a\n- b", "- a\n- b"},
		{"mixed list", "# a\n#* b\n# c", "1. a\n   - b\n2. c"},
		{"table with header", "||h1||h2||\n|a|b|", "| h1 | h2 |\n| --- | --- |\n| a | b |"},
		{"table without header", "|a|[x|https://y.example]|", "|  |  |\n| --- | --- |\n| a | [x](https://y.example) |"},
		{"rule", "----", "---"},
		{"line break", `one\\two`, "one<br>two"},
		{"color and panel dropped", "{panel:title=T}\n{color:red}hot{color}\n{panel}", "hot"},
		{"anchor dropped", "text {anchor:x}", "text "},
		{"markdown specials escaped", "a*b [c] `d` <e>", "a\\*b \\[c\\] \\`d\\` \\<e>"},
		{"paragraph that looks like a list", `\- not a list`, `\- not a list`},
		{"numbered-looking paragraph", "2020. was a year", `2020\. was a year`},
		{"dashes kept", "well-known -- and --> here", "well-known -- and --> here"},
		{"nil description", "", ""},
	}
	for _, tc := range tests {
		if got := WikiToMarkdown(tc.wiki); got != tc.want {
			t.Errorf("%s: WikiToMarkdown(%q) got %q, want %q", tc.name, tc.wiki, got, tc.want)
		}
	}
}

// canonical is Markdown as pmsync writes it: it must survive a round trip
// through wiki markup byte for byte.
var canonical = []string{
	"",
	"One line.",
	"Every quarter.\n\nSee runbook.",
	"Überprüfen: 東京リージョン — latency ≥ 2× baseline 🚀\nZweite Zeile: naïve café, שלום, Ω≈ç√",
	"## Customer summary\n\nAdd **uncached-read** latency tests to the _storage frontend_.",
	"- one\n- two\n  - nested\n    - deeper\n- three",
	"1. first\n2. second\n   - sub\n3. third",
	"> quoted\n> more\n>\n> after a blank",
	"```go\nif d > budget {\n\treturn errSlow\n}\n```",
	"```\nno language, *stars* and {braces}\n```",
	"A [link](https://example.com/a_b) and <https://x.io> and https://bare.example/x_y.",
	"| region | p99 |\n| --- | --- |\n| eu-west | 180 ms |",
	"---",
	"<!-- share -->\nCustomer summary\n<!-- /share -->",
	"Alice (Platform) wrote: first **comment** ✓\n\n- with a list",
	"~~dropped~~ and `code` and snake_case and 2 * 3",
	"Escaped \\*stars\\*, \\_under\\_ and \\[brackets\\]",
	"![graph](https://x.example/g.png)",
	"x <sup>2</sup> and <ins>inserted</ins>",
}

func TestMarkdownRoundTrip(t *testing.T) {
	for _, md := range canonical {
		w := MarkdownToWiki(md)
		if got := WikiToMarkdown(w); got != md {
			t.Errorf("round trip of %q via %q: got %q, want it unchanged", md, w, got)
		}
	}
}

// rough is Markdown as people write it; one round trip may normalise it,
// the second must change nothing.
var rough = []string{
	"* star bullets\n+ plus bullets\n1) paren numbers\n1) again",
	"a * b, 2*3*4, ~5 min, {json}, [brackets], a|b, wow! !x! h1. heading? -dash -- en",
	"- [ ] p99 < 250 ms on cold reads\n- [x] dashboard `frontend-latency`",
	"> quoted <b>html</b> & ampersands",
	"|---|---|\n| no | header |",
	"| a | b |\n|---|---|\n| x\\|y | z |",
	"    indented code\n    block",
	"Setext\n===",
	"trailing backslash \\",
	"C:\\temp\\new and \\\\server",
	"nested **bold _and italic_** text",
	"***",
	"```\nunclosed fence",
	"line<br>break",
	"x<sup>2</sup> intraword",
	"[text](<https://x.example/with space>)",
	"#### deep ####",
	"\t- tab indented list",
	"2020. was a year",
	"mixed\r\nline\r\nendings",
	// Inputs the fuzzer found unstable once.
	"http://*",
	"**0**_0_\\*00",
	"*# 0",
	"00000_*0*",
	"\\* ",
	"*0*_0_",
	"0\n* --",
	"\\\\*!!*",
	"00*000!)*!",
	"```\n\r\r\r\n```",
	"# 0 # #",
	"<strong>0</strong>**\t**\t*",
	"\x00**\x00**",
	"*\\\\*!0**",
	"[|0](0)",
	" **\\\\***",
	"*0*0`_ `*0*",
	"| \\[\\| |\n| --- |",
}

func TestMarkdownRoundTripStable(t *testing.T) {
	for _, md := range append(append([]string{}, canonical...), rough...) {
		once := WikiToMarkdown(MarkdownToWiki(md))
		twice := WikiToMarkdown(MarkdownToWiki(once))
		if twice != once {
			t.Errorf("second round trip of %q: got %q, want %q (the first round trip's result)", md, twice, once)
		}
	}
}

// wikiSamples are bodies people write in Jira; their Markdown must be
// stable through further round trips.
var wikiSamples = []string{
	"h1. Summary\n\n*Impact*: p99 +40%\n\n# detect\n# mitigate\n## sub-step\n\n{code:java}\nint x = 1;\n{code}\n\nbq. quoted\n\n||a||b||\n|1|2|",
	"{panel:title=Note}\nSee [runbook|https://wiki.example/rb] and {{kubectl get pods}}.\n{panel}",
	"{quote}\n* a\n* b\n{quote}\n----\n-struck- +under+ ^sup^ ~sub~ ??cite??",
	"[~accountid:5b10a] please check !screenshot.png|thumbnail! and \\*literal\\*",
	"-~-",
	"*{anchor:x}* and _{color:red}_",
}

func TestWikiRoundTripStable(t *testing.T) {
	for _, w := range wikiSamples {
		once := WikiToMarkdown(w)
		twice := WikiToMarkdown(MarkdownToWiki(once))
		if twice != once {
			t.Errorf("wiki %q: Markdown %q changed to %q on a round trip", w, once, twice)
		}
	}
}

func TestCommentMarker(t *testing.T) {
	tests := []struct {
		name, body, id, wantID, wantRest string
	}{
		{"with body", "hello", "abc123", "abc123", "hello"},
		{"empty body", "", "abc123", "abc123", ""},
		{"no marker", "hello", "", "", "hello"},
		{"trailing newlines", "hello\n\n", "d00d", "d00d", "hello"},
	}
	for _, tc := range tests {
		w := EmbedCommentMarker(tc.body, tc.id)
		id, rest := ExtractCommentMarker(w)
		if id != tc.wantID || rest != tc.wantRest {
			t.Errorf("%s: Extract(Embed(%q, %q)) = %q, %q; want %q, %q", tc.name, tc.body, tc.id, id, rest, tc.wantID, tc.wantRest)
		}
	}
	// A person editing the comment in Jira keeps the anchor wherever it is.
	id, rest := ExtractCommentMarker("edited {anchor:pmsync-f00}\nmore")
	if id != "f00" || strings.Contains(rest, "anchor") {
		t.Errorf("anchor inside an edited comment: got %q, %q; want f00 and no anchor", id, rest)
	}
}

// hostile are long lines of unclosed delimiters, which a naive parser
// converts in quadratic time.
func hostile() []string {
	var out []string
	for _, unit := range []string{"*a ", "_a ", "**a ", "~~a ", "-a ", "[a", "[a|", "`a", "{{a", "<a", "_*a", "+a "} {
		out = append(out, strings.Repeat(unit, 20000/len(unit)))
	}
	return out
}

func FuzzMarkdownToWiki(f *testing.F) {
	for _, s := range append(append(append([]string{}, canonical...), rough...), hostile()...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, md string) {
		start := time.Now()
		w := MarkdownToWiki(md)
		_ = WikiToMarkdown(w)
		if d := time.Since(start); d > time.Second {
			t.Fatalf("conversion of %d bytes took %v", len(md), d)
		}
	})
}

func FuzzWikiToMarkdown(f *testing.F) {
	for _, s := range append(append([]string{}, wikiSamples...), hostile()...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, w string) {
		start := time.Now()
		md := WikiToMarkdown(w)
		_ = MarkdownToWiki(md)
		if d := time.Since(start); d > time.Second {
			t.Fatalf("conversion of %d bytes took %v", len(w), d)
		}
	})
}
