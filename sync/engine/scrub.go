package engine

import (
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Scrubber removes from text that crosses to a customer what must never
// reach one: links into the platform's internal systems, references to
// platform item keys, and the names and ids of other customers. It is an
// allowlist's last line of defence: only canonical fields and the shared
// summary cross at all, and those pass through here.
//
// The zero Scrubber only removes markers and share tags.
type Scrubber struct {
	urlRE  *regexp.Regexp   // internal URL prefixes, scheme optional
	keyREs []*regexp.Regexp // internal key patterns
	termRE *regexp.Regexp   // other customers' names and ids
}

// Replacement texts, chosen so that no internal prefix, key or term can
// match inside them.
const (
	internalLink = "[internal link]"
	internalRef  = "[internal reference]"
	redactedTerm = "[redacted]"
)

// NewScrubber builds a scrubber.
//
// urlPrefixes are host[/path] prefixes of internal web addresses, with or
// without a scheme ("https://jira.example.com", "github.com/example/ops");
// any text containing one, through to the end of the address, is replaced.
// keyPatterns are regular expressions for internal item keys (PLAT-\d+).
// terms are names that must not appear as whole words (other customers).
func NewScrubber(urlPrefixes []string, keyPatterns []*regexp.Regexp, terms []string) *Scrubber {
	s := &Scrubber{keyREs: keyPatterns}
	var alts []string
	for _, p := range urlPrefixes {
		p = strings.TrimSpace(p)
		if i := strings.Index(p, "://"); i >= 0 {
			p = p[i+3:]
		}
		p = strings.TrimRight(p, "/")
		if len(p) >= 3 && !inReplacement(p) {
			alts = append(alts, regexp.QuoteMeta(p))
		}
	}
	if len(alts) > 0 {
		sort.Sort(sort.Reverse(byLen(alts)))
		s.urlRE = regexp.MustCompile(`(?i)(?:[a-z][a-z0-9+.-]{0,15}:)?(?://)?(?:` + strings.Join(alts, "|") + `)[^\s<>"'()\[\]{}|\\^` + "`" + `]*`)
	}
	var words []string
	for _, t := range terms {
		t = strings.TrimSpace(t)
		if utf8.RuneCountInString(t) < 3 || inReplacement(t) {
			continue
		}
		words = append(words, regexp.QuoteMeta(t))
	}
	if len(words) > 0 {
		sort.Sort(sort.Reverse(byLen(words)))
		s.termRE = regexp.MustCompile(`(?i)` + strings.Join(words, "|"))
	}
	return s
}

// inReplacement reports whether t occurs in a replacement text, where it
// would make scrubbing grow the text instead of removing it.
func inReplacement(t string) bool {
	return strings.Contains(strings.ToLower(redactedTerm+" "+internalLink+" "+internalRef), strings.ToLower(t))
}

type byLen []string

func (b byLen) Len() int           { return len(b) }
func (b byLen) Less(i, j int) bool { return len(b[i]) < len(b[j]) }
func (b byLen) Swap(i, j int)      { b[i], b[j] = b[j], b[i] }

// mdLinkRE matches an inline Markdown link [text](url "title").
var mdLinkRE = regexp.MustCompile(`\[([^\[\]\n]{0,500})\]\(\s*<?([^()\s<>]{0,1000})>?(?:\s+"[^"\n]{0,500}")?\s*\)`)

// maxScrubPasses bounds the fix-point loops; every pass strictly removes an
// occurrence, so real texts need one or two.
const maxScrubPasses = 8

// Text scrubs one text that is about to be written to a customer.
func (s *Scrubber) Text(text string) string {
	text = stripShareTags(StripMarkers(text))
	if s == nil {
		return Truncate(text)
	}
	if s.urlRE != nil {
		text = mdLinkRE.ReplaceAllStringFunc(text, func(m string) string {
			sub := mdLinkRE.FindStringSubmatch(m)
			if s.urlRE.MatchString(sub[2]) {
				return sub[1]
			}
			return m
		})
		text = fixPoint(text, func(t string) string { return s.urlRE.ReplaceAllString(t, internalLink) })
	}
	for _, re := range s.keyREs {
		text = fixPoint(text, func(t string) string { return re.ReplaceAllString(t, internalRef) })
	}
	if s.termRE != nil {
		text = fixPoint(text, s.replaceTerms)
	}
	return Truncate(text)
}

// Leaks reports whether text still holds an internal address, key or term
// (used by tests and by the engine as a final check before a write).
func (s *Scrubber) Leaks(text string) bool {
	if s == nil {
		return false
	}
	if s.urlRE != nil && s.urlRE.MatchString(text) {
		return true
	}
	for _, re := range s.keyREs {
		if re.MatchString(text) {
			return true
		}
	}
	return s.termRE != nil && len(s.wholeWords(text)) > 0
}

func fixPoint(text string, f func(string) string) string {
	for i := 0; i < maxScrubPasses; i++ {
		out := f(text)
		if out == text {
			return out
		}
		text = out
	}
	return text
}

// replaceTerms replaces whole-word occurrences of the terms.
func (s *Scrubber) replaceTerms(text string) string {
	idx := s.wholeWords(text)
	if len(idx) == 0 {
		return text
	}
	var b strings.Builder
	last := 0
	for _, m := range idx {
		b.WriteString(text[last:m[0]])
		b.WriteString(redactedTerm)
		last = m[1]
	}
	b.WriteString(text[last:])
	return b.String()
}

// wholeWords finds term occurrences not preceded or followed by a letter,
// digit or underscore.
func (s *Scrubber) wholeWords(text string) [][]int {
	var out [][]int
	for pos := 0; pos < len(text); {
		m := s.termRE.FindStringIndex(text[pos:])
		if m == nil {
			break
		}
		from, to := pos+m[0], pos+m[1]
		if to == from {
			pos = from + 1
			continue
		}
		before, _ := utf8.DecodeLastRuneInString(text[:from])
		after, _ := utf8.DecodeRuneInString(text[to:])
		if (from == 0 || !isWordRune(before)) && (to == len(text) || !isWordRune(after)) {
			out = append(out, []int{from, to})
			pos = to
			continue
		}
		_, size := utf8.DecodeRuneInString(text[from:])
		pos = from + size
	}
	return out
}

func isWordRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// KeyPattern returns the pattern of item keys of a tracker project, for a
// Scrubber: "PLAT-123" for a Jira project key, "owner/repo#12" and
// "group/project!3" forms for GitHub and GitLab projects.
func KeyPattern(kind, project string) *regexp.Regexp {
	project = strings.TrimSpace(project)
	if project == "" {
		return nil
	}
	switch kind {
	case "jira":
		return regexp.MustCompile(`(?i)\b` + regexp.QuoteMeta(project) + `-\d+\b`)
	default:
		return regexp.MustCompile(`(?i)` + regexp.QuoteMeta(project) + `[#!]\d+`)
	}
}
