package engine

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// DescriptionMode says how much of a platform item's description crosses to
// a customer (config key share.description).
type DescriptionMode string

// The description modes.
const (
	// DescriptionNone shares no description at all.
	DescriptionNone DescriptionMode = "none"
	// DescriptionSummary shares only the customer summary: the section
	// under a "Customer summary" heading and the text between
	// <!-- share --> and <!-- /share --> markers. Nothing when neither
	// exists.
	DescriptionSummary DescriptionMode = "summary"
	// DescriptionFull shares the whole description.
	DescriptionFull DescriptionMode = "full"
)

// Valid reports whether m is one of the modes.
func (m DescriptionMode) Valid() bool {
	switch m {
	case DescriptionNone, DescriptionSummary, DescriptionFull:
		return true
	}
	return false
}

// MaxTextLen bounds any text pmsync writes (a description or a comment), in
// bytes. It stays under GitHub's 65,536-character body limit; connectors cut
// further where their tracker needs it.
const MaxTextLen = 60000

// truncatedNote ends a text cut at MaxTextLen.
const truncatedNote = "\n\n… (truncated by pmsync)"

// SharedDescription returns the part of a platform description that may be
// written to a customer under mode. An unknown mode shares nothing.
func SharedDescription(desc string, mode DescriptionMode) string {
	switch mode {
	case DescriptionFull:
		return strings.TrimSpace(stripShareTags(desc))
	case DescriptionSummary:
		return ExtractSummary(desc)
	}
	return ""
}

var (
	shareOpenRE    = regexp.MustCompile(`(?i)<!--[ \t]*share[ \t]*-->`)
	shareCloseRE   = regexp.MustCompile(`(?i)<!--[ \t]*/[ \t]*share[ \t]*-->`)
	shareTagRE     = regexp.MustCompile(`(?i)<!--[ \t]*/?[ \t]*share[ \t]*-->`)
	shareTagFullRE = regexp.MustCompile(`(?i)^<!--[ \t]*/?[ \t]*share[ \t]*-->$`)
	atxRE          = regexp.MustCompile(`^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$`)
	setextRE       = regexp.MustCompile(`^ {0,3}(=+|-+)[ \t]*$`)
	fenceRE        = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})")
)

// span is a half-open byte range of a text.
type span struct{ from, to int }

// ExtractSummary returns the customer summary of a Markdown description:
// every section under a heading reading "Customer summary" (any level, ATX
// or setext, up to the next heading of the same or a higher level) and
// every text between <!-- share --> and <!-- /share --> markers, in
// document order, joined by blank lines. An unclosed share marker shares
// nothing. Without either, the summary is empty.
func ExtractSummary(desc string) string {
	spans := append(summarySections(desc), shareBlocks(desc)...)
	spans = mergeSpans(spans)
	parts := make([]string, 0, len(spans))
	for _, s := range spans {
		p := strings.TrimSpace(stripShareTags(desc[s.from:s.to]))
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "\n\n")
}

// line is one line of a text with its byte offsets.
type line struct {
	text       string
	start, end int // end includes the newline
}

func splitLines(s string) []line {
	var out []line
	for start := 0; start < len(s); {
		i := strings.IndexByte(s[start:], '\n')
		end := len(s)
		if i >= 0 {
			end = start + i + 1
		}
		out = append(out, line{text: strings.TrimRight(s[start:end], "\r\n"), start: start, end: end})
		start = end
	}
	return out
}

// heading is a Markdown heading found in a text.
type heading struct {
	level      int
	text       string
	start      int // first byte of the heading
	bodyStart  int // first byte after the heading
	isCustomer bool
}

// headings finds the ATX and setext headings outside code fences.
func headings(s string) []heading {
	lines := splitLines(s)
	var out []heading
	var fence string
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if m := fenceRE.FindStringSubmatch(l.text); m != nil {
			switch {
			case fence == "":
				fence = m[1]
			case m[1][0] == fence[0] && len(m[1]) >= len(fence) && strings.TrimSpace(l.text[len(m[0]):]) == "":
				fence = ""
			}
			continue
		}
		if fence != "" {
			continue
		}
		if m := atxRE.FindStringSubmatch(l.text); m != nil {
			out = append(out, newHeading(len(m[1]), m[2], l.start, l.end))
			continue
		}
		if strings.TrimSpace(l.text) == "" || i+1 >= len(lines) {
			continue
		}
		if m := setextRE.FindStringSubmatch(lines[i+1].text); m != nil {
			level := 2
			if m[1][0] == '=' {
				level = 1
			}
			out = append(out, newHeading(level, l.text, l.start, lines[i+1].end))
			i++
		}
	}
	return out
}

func newHeading(level int, text string, start, bodyStart int) heading {
	return heading{level: level, text: text, start: start, bodyStart: bodyStart, isCustomer: isCustomerSummary(text)}
}

// isCustomerSummary reports whether a heading text reads "Customer summary",
// ignoring case, emphasis, surrounding space and a trailing colon.
func isCustomerSummary(text string) bool {
	t := strings.Trim(strings.TrimSpace(text), "*_ \t")
	t = strings.TrimSpace(strings.TrimSuffix(t, ":"))
	t = strings.Trim(t, "*_ \t")
	return strings.EqualFold(strings.Join(strings.Fields(t), " "), "customer summary")
}

// summarySections returns the body of every "Customer summary" section.
func summarySections(s string) []span {
	hs := headings(s)
	var out []span
	for i, h := range hs {
		if !h.isCustomer {
			continue
		}
		end := len(s)
		for _, next := range hs[i+1:] {
			if next.level <= h.level {
				end = next.start
				break
			}
		}
		out = append(out, span{h.bodyStart, end})
	}
	return out
}

// shareBlocks returns the text between each <!-- share --> and the next
// <!-- /share -->.
func shareBlocks(s string) []span {
	var out []span
	pos := 0
	for pos < len(s) {
		o := shareOpenRE.FindStringIndex(s[pos:])
		if o == nil {
			break
		}
		from := pos + o[1]
		c := shareCloseRE.FindStringIndex(s[from:])
		if c == nil {
			break
		}
		out = append(out, span{from, from + c[0]})
		pos = from + c[1]
	}
	return out
}

// mergeSpans sorts spans and joins the overlapping ones.
func mergeSpans(in []span) []span {
	if len(in) < 2 {
		return in
	}
	for i := 1; i < len(in); i++ { // insertion sort: inputs are tiny
		for j := i; j > 0 && in[j].from < in[j-1].from; j-- {
			in[j], in[j-1] = in[j-1], in[j]
		}
	}
	out := []span{in[0]}
	for _, s := range in[1:] {
		last := &out[len(out)-1]
		if s.from <= last.to {
			if s.to > last.to {
				last.to = s.to
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

// stripShareTags removes share tags until none is left (removing one can
// join the halves of another).
func stripShareTags(s string) string { return stripComments(s, shareTagRE, shareTagFullRE) }

// stripComments removes every match of re until none is left, in one pass:
// re matches only HTML comments holding no other "<!--", and full is re
// anchored at both ends. Characters are copied one by one; when the copy
// ends with "-->", the comment opened last is tested and dropped if it
// matches, so the copy never holds a match and removal can uncover none.
func stripComments(s string, re, full *regexp.Regexp) string {
	if !re.MatchString(s) {
		return s
	}
	buf := make([]byte, 0, len(s))
	var opens []int
	for i := 0; i < len(s); i++ {
		buf = append(buf, s[i])
		n := len(buf)
		if s[i] == '-' && n >= 4 && string(buf[n-4:]) == "<!--" {
			opens = append(opens, n-4)
		}
		if s[i] != '>' || n < 3 || buf[n-2] != '-' || buf[n-3] != '-' || len(opens) == 0 {
			continue
		}
		start := opens[len(opens)-1]
		if full.Match(buf[start:]) {
			buf = buf[:start]
			opens = opens[:len(opens)-1]
		}
	}
	return string(buf)
}

// markerCommentRE matches any pmsync marker comment, valid or not, so that
// text pasted from a mirror can never plant a marker in what pmsync writes.
var (
	markerCommentRE     = regexp.MustCompile(`(?i)<!--[ \t]*pmsync:[^<>]*-->`)
	markerCommentFullRE = regexp.MustCompile(`(?i)^<!--[ \t]*pmsync:[^<>]*-->$`)
)

// StripMarkers removes every pmsync marker comment from text, until none is
// left (removing one can join the halves of another).
func StripMarkers(s string) string { return stripComments(s, markerCommentRE, markerCommentFullRE) }

// Truncate cuts s to at most MaxTextLen bytes on a rune boundary, saying so.
func Truncate(s string) string {
	if len(s) <= MaxTextLen {
		return s
	}
	cut := MaxTextLen - len(truncatedNote)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + truncatedNote
}

// SharedComment decides whether a comment crosses to the other side and
// returns the body to write (before attribution). Restricted comments and
// comments carrying a pmsync marker never cross. When fromPlatform is true
// the comment must start with prefix (which is removed); an empty prefix
// means no platform comment crosses.
func SharedComment(body string, restricted bool, marker string, fromPlatform bool, prefix string) (string, bool) {
	if restricted || marker != "" || markerCommentRE.MatchString(body) {
		return "", false
	}
	if fromPlatform {
		if prefix == "" {
			return "", false
		}
		rest, ok := cutPrefixMarkdown(strings.TrimLeft(body, " \t\r\n"), prefix)
		if !ok {
			return "", false
		}
		body = rest
	}
	body = strings.TrimSpace(body)
	if body == "" {
		return "", false
	}
	return body, true
}

// cutPrefixMarkdown removes prefix from the start of s, where any ASCII
// punctuation of the prefix may appear backslash-escaped (connectors that
// convert a tracker's markup to Markdown write "[customer]" as
// "\[customer\]").
func cutPrefixMarkdown(s, prefix string) (string, bool) {
	i := 0
	for j := 0; j < len(prefix); j++ {
		p := prefix[j]
		switch {
		case i < len(s) && s[i] == p:
			i++
		case i+1 < len(s) && s[i] == '\\' && s[i+1] == p && isASCIIPunct(p):
			i += 2
		default:
			return "", false
		}
	}
	return s[i:], true
}

func isASCIIPunct(c byte) bool {
	return (c >= '!' && c <= '/') || (c >= ':' && c <= '@') || (c >= '[' && c <= '`') || (c >= '{' && c <= '~')
}

// maxAuthorLen bounds an attributed author name, in bytes.
const maxAuthorLen = 100

// Attribute renders a mirrored comment: "Alice (JaneCorp) wrote:" and the body.
func Attribute(author, org, body string) string {
	author = cleanName(author)
	if author == "" {
		author = "Someone"
	}
	org = cleanName(org)
	return Truncate(fmt.Sprintf("%s (%s) wrote:\n\n%s", author, org, body))
}

// cleanName keeps a display name on one line, without markers or Markdown
// that could change the layout of the attribution line.
func cleanName(s string) string {
	s = StripMarkers(s)
	s = strings.Map(func(r rune) rune {
		switch r {
		case '\n', '\r', '\t':
			return ' '
		case '<', '>', '[', ']', '`', '*', '#':
			return -1
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxAuthorLen {
		cut := maxAuthorLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}
