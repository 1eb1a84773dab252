package jira

import (
	"strings"
	"unicode/utf8"
)

// wikiEffects maps wiki text-effect delimiters to their Markdown (or inline
// HTML, where Markdown has none) open and close forms.
var wikiEffects = map[byte][2]string{
	'*': {"**", "**"},
	'_': {"_", "_"},
	'-': {"~~", "~~"},
	'+': {"<ins>", "</ins>"},
	'^': {"<sup>", "</sup>"},
	'~': {"<sub>", "</sub>"},
}

// wikiEffectTags are the inline HTML forms used where Markdown delimiters
// would touch another delimiter and merge with it.
var wikiEffectTags = map[byte][2]string{
	'*': {"<strong>", "</strong>"},
	'_': {"<em>", "</em>"},
	'-': {"<del>", "</del>"},
	'+': {"<ins>", "</ins>"},
	'^': {"<sup>", "</sup>"},
	'~': {"<sub>", "</sub>"},
}

// wikiInline converts the inline wiki markup of one line to Markdown.
func wikiInline(s string) string { return wikiInlineAt(s, 0) }

func wikiInlineAt(s string, depth int) string {
	var b strings.Builder
	if depth > maxInlineDepth {
		for i := 0; i < len(s); i++ {
			if s[i] == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]) {
				writeMDChar(&b, s[i+1], prevOf(s, i), s[i+2:])
				i++
				continue
			}
			writeMDChar(&b, s[i], prevOf(s, i), s[i+1:])
		}
		return b.String()
	}
	miss, clear := misses{}, map[string]int{}
	wikiInline := func(inner string) string { return wikiInlineAt(inner, depth+1) }
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && s[i+1] == '\\':
			b.WriteString("<br>")
			i += 2
		case c == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]):
			writeMDChar(&b, s[i+1], prevOf(s, i), s[i+2:])
			i += 2
		case c == '{' && strings.HasPrefix(s[i:], "{{"):
			end := -1
			if !miss.known("}}", i) {
				if end = strings.Index(s[i+2:], "}}"); end < 0 {
					miss.add("}}", i)
				}
			}
			if end >= 0 {
				b.WriteString(mdCodeSpan(unescapeWiki(s[i+2 : i+2+end])))
				i += end + 4
				continue
			}
			b.WriteString("{{")
			i += 2
		case c == '{':
			if loc := wMacroRE.FindStringIndex(s[i:]); loc != nil && loc[0] == 0 {
				i += loc[1]
				continue
			}
			b.WriteByte('{')
			i++
		case c == '<' && strings.HasPrefix(s[i:], "<!--"):
			end := strings.Index(s[i:], "-->")
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			b.WriteString(s[i : i+end+3])
			i += end + 3
		case c == '[':
			if md, n := wikiLink(s[i:]); n > 0 {
				b.WriteString(md)
				i += n
				continue
			}
			writeMDChar(&b, c, prevOf(s, i), s[i+1:])
			i++
		case c == '!':
			if md, n := wikiImage(s[i:]); n > 0 {
				b.WriteString(md)
				i += n
				continue
			}
			writeMDChar(&b, c, prevOf(s, i), s[i+1:])
			i++
		case wikiEffects[c][0] != "":
			inner, n := "", 0
			if !miss.known(string(c), i) {
				if inner, n = wikiDelimited(s, i, clear); n < 0 {
					miss.add(string(c), i)
				}
			}
			if n > 0 {
				e, md := wikiEffects[c], wikiInline(inner)
				delim := func(x byte) bool { return x != 0 && strings.IndexByte("*_~", x) >= 0 }
				if out := b.String(); (out != "" && delim(out[len(out)-1])) || delim(firstByte(s[i+n:])) ||
					(md != "" && (delim(md[0]) || delim(md[len(md)-1]))) {
					e = wikiEffectTags[c] // Markdown delimiters would merge with their neighbours
				}
				if md != "" { // an effect around nothing (a dropped macro) is nothing
					b.WriteString(e[0] + md + e[1])
				}
				i += n
				continue
			}
			writeMDChar(&b, c, prevOf(s, i), s[i+1:])
			i++
		case (c == 'h' || c == 'H') && isURLStart(s[i:]) && (i == 0 || !isWordByte(s[i-1])):
			n := urlLen(s[i:])
			b.WriteString(s[i : i+n])
			i += n
		default:
			_, size := utf8.DecodeRuneInString(s[i:])
			if size == 1 {
				writeMDChar(&b, c, prevOf(s, i), s[i+1:])
			} else {
				b.WriteString(s[i : i+size])
			}
			i += size
		}
	}
	return b.String()
}

// wikiDelimited finds a wiki text effect starting at s[i]: the opener follows
// a boundary and precedes a non-space; the closer follows a non-space and
// precedes a boundary. It returns the inner text and the total length, -1
// when no closer exists anywhere after i. clear works as in mdDelimited.
func wikiDelimited(s string, i int, clear map[string]int) (string, int) {
	c := s[i]
	if i > 0 && !isBoundary(s[i-1]) || i+1 >= len(s) || isSpace(s[i+1]) || s[i+1] == c {
		return "", 0
	}
	if c == '-' && strings.HasPrefix(s[i:], "->") {
		return "", 0
	}
	key := string(c)
	j := max(i+2, clear[key])
	for ; j < len(s) && j-i <= maxSpan; j++ {
		if lim := min(len(s), i+maxSpan); strings.HasPrefix(s[j:], "{{") && j+2 <= lim && !escaped(s, j) {
			if end := strings.Index(s[j+2:lim], "}}"); end >= 0 {
				j += end + 3 // monospace binds tighter than effects
				continue
			}
		}
		if s[j] == c && !isSpace(s[j-1]) && !escaped(s, j) && (j+1 == len(s) || isBoundary(firstByte(s[j+1:]))) {
			clear[key] = j
			return s[i+1 : j], j + 1 - i
		}
	}
	clear[key] = max(clear[key], j)
	if j >= len(s) {
		return "", -1
	}
	return "", 0
}

// wikiLink converts [text|url], [url], [~user] at the start of s.
func wikiLink(s string) (string, int) {
	end := -1
	for j := 1; j < len(s) && j < maxSpan; j++ {
		if s[j] == ']' && !escaped(s, j) {
			end = j
			break
		}
	}
	if end < 0 {
		return "", 0
	}
	inner := s[1:end]
	if inner == "" || strings.ContainsAny(inner, "[\n") {
		return "", 0
	}
	var parts []string
	start := 0
	for j := 0; j < len(inner); j++ {
		if inner[j] == '|' && !escaped(inner, j) {
			parts = append(parts, inner[start:j])
			start = j + 1
		}
	}
	parts = append(parts, inner[start:])
	switch {
	case len(parts) >= 2 && isLinkTarget(strings.TrimSpace(parts[1])):
		return "[" + wikiInlineAt(parts[0], maxInlineDepth) + "](" + strings.TrimSpace(parts[1]) + ")", end + 1
	case len(parts) == 1 && strings.HasPrefix(inner, "~") && isLinkTarget(inner[1:]):
		return "@" + strings.TrimPrefix(inner[1:], "accountid:"), end + 1
	case len(parts) == 1 && (isURLStart(inner) || strings.HasPrefix(strings.ToLower(inner), "mailto:")) && isLinkTarget(inner):
		return "<" + inner + ">", end + 1
	}
	return "", 0
}

// isLinkTarget reports whether t can be a Markdown link destination as is.
func isLinkTarget(t string) bool {
	if t == "" {
		return false
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; c <= ' ' || strings.IndexByte("()[]|<>\\`", c) >= 0 {
			return false
		}
	}
	return true
}

// wikiImage converts !target! and !target|options! at the start of s.
func wikiImage(s string) (string, int) {
	end := strings.IndexByte(s[1:min(len(s), maxSpan)], '!')
	if end <= 0 {
		return "", 0
	}
	inner := s[1 : end+1]
	if strings.ContainsAny(inner, " \t") && !strings.Contains(inner, "|") {
		return "", 0
	}
	target, opts, _ := strings.Cut(inner, "|")
	if !isImageTarget(target) {
		return "", 0
	}
	alt := ""
	for _, o := range strings.Split(opts, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(o), "="); ok && k == "alt" {
			alt = strings.Trim(v, `"`)
		}
	}
	return "![" + alt + "](" + target + ")", end + 2
}

// isImageTarget reports whether an image target is a file name or URL
// that Markdown's ![](target) can carry unchanged.
func isImageTarget(t string) bool {
	alnum := false
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case isWordByte(c):
			alnum = true
		case strings.IndexByte("-._~:/?#@&=+%", c) < 0:
			return false
		}
	}
	return alnum
}

// mdCodeSpan wraps code in enough backticks.
func mdCodeSpan(code string) string {
	fence := "`"
	for strings.Contains(code, fence) {
		fence += "`"
	}
	if strings.HasPrefix(code, "`") || strings.HasSuffix(code, "`") {
		return fence + " " + code + " " + fence
	}
	return fence + code + fence
}

// unescapeWiki removes wiki backslash escapes.
func unescapeWiki(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// writeMDChar writes the literal character c to Markdown, escaping it where
// Markdown would read it as syntax, given its neighbours prev and rest.
func writeMDChar(b *strings.Builder, c, prev byte, rest string) {
	next := firstByte(rest)
	space := func(x byte) bool { return x == 0 || x == ' ' || x == '\t' }
	esc := false
	switch c {
	case '\\':
		// Before punctuation it would escape it; at the end of a line it
		// would be a hard line break, at the end of emphasis escape the
		// closing delimiter.
		esc = next == 0 || isASCIIPunct(next)
	case '`', '[', ']':
		esc = true
	case '*':
		esc = !(space(prev) && space(next))
	case '_':
		esc = !(space(prev) && space(next)) && !(prev != 0 && next != 0 && isWordByte(prev) && isWordByte(next))
	case '~':
		esc = atEffectBoundary(prev, next) || next == '~' || prev == '~'
	case '<':
		esc = next == '/' || next == '!' || next == '?' || (next|0x20 >= 'a' && next|0x20 <= 'z')
	case '!':
		esc = next == '['
	}
	if esc {
		b.WriteByte('\\')
	}
	b.WriteByte(c)
}
