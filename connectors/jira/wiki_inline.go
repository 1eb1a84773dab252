package jira

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits that keep inline conversion linear on hostile input: how deep
// emphasis may nest, and how far an opener looks for its closer.
const (
	maxInlineDepth = 8
	maxSpan        = 2048
)

// misses remembers, per delimiter, the smallest position from which a
// search for a closer already reached the end of the line without one: any
// later opener of the same delimiter cannot find one either.
type misses map[string]int

func (m misses) known(delim string, from int) bool {
	v, ok := m[delim]
	return ok && from >= v
}

func (m misses) add(delim string, from int) {
	if v, ok := m[delim]; !ok || from < v {
		m[delim] = from
	}
}

// mdInline converts the inline Markdown of one line to wiki markup.
func mdInline(s string) string { return mdInlineAt(s, 0) }

func mdInlineAt(s string, depth int) string {
	var b strings.Builder
	inner := depth > 0
	if depth > maxInlineDepth {
		for i := 0; i < len(s); i++ {
			if s[i] == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]) {
				writeWikiChar(&b, s[i+1], prevOf(s, i), s[i+2:], inner)
				i++
				continue
			}
			writeWikiChar(&b, s[i], prevOf(s, i), s[i+1:], inner)
		}
		return b.String()
	}
	miss, clear := misses{}, map[string]int{}
	lastClose := strings.LastIndexByte(s, ']')
	mdInline := func(inner string) string { return mdInlineAt(inner, depth+1) }
	mdLink := func(rest string) (string, string, int) {
		if len(s)-len(rest) > lastClose {
			return "", "", 0 // no "]" follows: not a link
		}
		return mdLink(rest)
	}
	mdDelimited := func(s string, i int, delim string) (string, int) {
		if miss.known(delim, i) {
			return "", 0
		}
		inner, n := mdDelimited(s, i, delim, clear)
		if n < 0 {
			miss.add(delim, i)
			return "", 0
		}
		return inner, n
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]):
			writeWikiChar(&b, s[i+1], prevOf(s, i), s[i+2:], inner)
			i += 2
		case c == '`':
			n := runLen(s, i, '`')
			key := "`" + strings.Repeat("`", n)
			end := -1
			if !miss.known(key, i) {
				if end = strings.Index(s[i+n:], strings.Repeat("`", n)); end < 0 {
					miss.add(key, i)
				}
			}
			if end >= 0 && runLen(s, i+n+end, '`') == n {
				code := s[i+n : i+n+end]
				if len(code) > 1 && code[0] == ' ' && code[len(code)-1] == ' ' && strings.Trim(code, " ") != "" {
					code = code[1 : len(code)-1]
				}
				b.WriteString("{{" + escapeWikiCode(code) + "}}")
				i += 2*n + end
				continue
			}
			b.WriteString(strings.Repeat("`", n))
			i += n
		case c == '<' && strings.HasPrefix(s[i:], "<!--"):
			end := strings.Index(s[i:], "-->")
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			b.WriteString(s[i : i+end+3])
			i += end + 3
		case c == '<':
			if url, n := autolink(s[i:]); n > 0 {
				b.WriteString("[" + url + "]")
				i += n
			} else if tag, inner, n := htmlSpan(s[i:]); n > 0 {
				mark := htmlMarks[tag]
				b.WriteString(mark + mdInline(inner) + mark)
				i += n
			} else if strings.HasPrefix(s[i:], "<br>") || strings.HasPrefix(s[i:], "<br/>") || strings.HasPrefix(s[i:], "<br />") {
				b.WriteString("\\\\")
				i += strings.IndexByte(s[i:], '>') + 1
			} else {
				b.WriteByte('<')
				i++
			}
		case c == '!' && i+1 < len(s) && s[i+1] == '[':
			if text, url, n := mdLink(s[i+1:]); n > 0 {
				if text == "" {
					b.WriteString("!" + url + "!")
				} else {
					b.WriteString("!" + url + "|alt=" + strings.ReplaceAll(text, "|", "") + "!")
				}
				i += n + 1
				continue
			}
			writeWikiText(&b, "!", s, i, inner)
			i++
		case c == '[':
			if text, url, n := mdLink(s[i:]); n > 0 {
				if text == url {
					b.WriteString("[" + url + "]")
				} else {
					b.WriteString("[" + mdInline(text) + "|" + url + "]")
				}
				i += n
				continue
			}
			writeWikiText(&b, "[", s, i, inner)
			i++
		case (c == '*' || c == '_') && i+1 < len(s) && s[i+1] == c:
			if inner, n := mdDelimited(s, i, s[i:i+2]); n > 0 {
				b.WriteString("*" + mdInline(inner) + "*")
				i += n
				continue
			}
			writeWikiText(&b, s[i:i+2], s, i, inner)
			i += 2
		case c == '*' || c == '_':
			if inner, n := mdDelimited(s, i, s[i:i+1]); n > 0 {
				b.WriteString("_" + mdInline(inner) + "_")
				i += n
				continue
			}
			writeWikiText(&b, s[i:i+1], s, i, inner)
			i++
		case c == '~' && strings.HasPrefix(s[i:], "~~"):
			if inner, n := mdDelimited(s, i, "~~"); n > 0 {
				b.WriteString("-" + mdInline(inner) + "-")
				i += n
				continue
			}
			writeWikiText(&b, "~~", s, i, inner)
			i += 2
		case (c == 'h' || c == 'H') && isURLStart(s[i:]) && (i == 0 || !isWordByte(s[i-1])):
			n := urlLen(s[i:])
			b.WriteString(s[i : i+n])
			i += n
		default:
			_, size := utf8.DecodeRuneInString(s[i:])
			writeWikiText(&b, s[i:i+size], s, i, inner)
			i += size
		}
	}
	return b.String()
}

// writeWikiText writes literal text taken from line at pos, escaping the
// characters that wiki markup would read as formatting there.
func writeWikiText(b *strings.Builder, text, line string, pos int, inner bool) {
	for k := 0; k < len(text); k++ {
		writeWikiChar(b, text[k], prevOf(line, pos+k), line[min(pos+k+1, len(line)):], inner)
	}
}

// writeWikiChar writes the literal character c, whose neighbours in the
// source are prev (0 at the start) and rest. inner says the text is inside
// markup (emphasis, a link text, a table cell), so its end is followed by a
// delimiter.
func writeWikiChar(b *strings.Builder, c, prev byte, rest string, inner bool) {
	if next := firstByte(rest); c == '\\' && (isASCIIPunct(next) || (next == 0 && inner)) {
		// Wiki markup cannot write a backslash before punctuation: that is
		// an escape ("\\\\" a line break). A fullwidth reverse solidus
		// looks the same and means nothing to either markup.
		b.WriteString("\uFF3C")
		return
	}
	if needsWikiEscape(c, prev, rest) {
		b.WriteByte('\\')
	}
	b.WriteByte(c)
}

// prevOf returns the character before s[i], 0 at the start of the line.
// For an escaped character the caller passes the backslash's position, so
// "\\*" is judged by what precedes the backslash.
func prevOf(s string, i int) byte {
	if i <= 0 || i > len(s) {
		return 0
	}
	return s[i-1]
}

func needsWikiEscape(c, prev byte, rest string) bool {
	next := firstByte(rest)
	switch c {
	case '{', '}', '[', ']', '|':
		return true
	case '!':
		return next != 0 && !isSpace(next) && next != '!' && strings.IndexByte(rest, '!') >= 0
	case '?':
		return next == '?'
	case '-':
		if prev == '-' || next == '-' {
			return false
		}
		return atEffectBoundary(prev, next)
	case '*', '_', '+', '^', '~':
		return atEffectBoundary(prev, next)
	}
	return false
}

// atEffectBoundary reports whether a character between prev and next could
// open or close a wiki text effect: a word on one side, a boundary on the
// other. 0 stands for the start or end of the line.
func atEffectBoundary(prev, next byte) bool {
	return (prev == 0 || isBoundary(prev)) != (next == 0 || isBoundary(next))
}

// firstByte returns the first character rest stands for, looking through a
// backslash escape ("\\_" stands for "_"); 0 for the end of the line.
func firstByte(rest string) byte {
	switch {
	case rest == "":
		return 0
	case len(rest) >= 2 && rest[0] == '\\' && isASCIIPunct(rest[1]):
		return rest[1]
	}
	return rest[0]
}

func isBoundary(c byte) bool {
	return isSpace(c) || (isASCIIPunct(c) && c != '\\')
}

// escaped reports whether s[i] follows an odd run of backslashes, so that
// "\\\\*" is an escaped backslash before a live "*".
func escaped(s string, i int) bool {
	n := 0
	for i-n-1 >= 0 && s[i-n-1] == '\\' {
		n++
	}
	return n%2 == 1
}

// isSpace is the white space both converters treat alike.
func isSpace(c byte) bool { return c == ' ' || c == '\t' }

func isWikiSpecial(c byte) bool {
	return strings.IndexByte(`*_-+^~?{}[]|!#\`, c) >= 0
}

func escapeWikiCode(code string) string {
	var b strings.Builder
	for k := 0; k < len(code); k++ {
		if strings.IndexByte(`{}[]*_-+^~|!\`, code[k]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(code[k])
	}
	return b.String()
}

// mdDelimited finds delim...delim starting at s[i] as Markdown emphasis:
// the opener is followed and the closer preceded by a non-space; "_" must not
// be inside a word. It returns the inner text and the total length; the
// length is -1 when no closer exists anywhere after i (see misses). clear
// records, per delimiter, the position before which no closer exists, so
// that no position is examined twice.
func mdDelimited(s string, i int, delim string, clear map[string]int) (string, int) {
	d := len(delim)
	start := i + d
	if start >= len(s) || isSpace(s[start]) {
		return "", 0
	}
	if delim[0] == '_' && i > 0 && isWordByte(s[i-1]) {
		return "", 0
	}
	j := max(start+1, clear[delim])
	for ; j+d <= len(s) && j-start <= maxSpan; j++ {
		if s[j] == '`' && !escaped(s, j) {
			j = skipCodeSpan(s, j, start+maxSpan) // code spans bind tighter
			continue
		}
		if s[j:j+d] != delim || isSpace(s[j-1]) || escaped(s, j) {
			continue
		}
		if d == 1 && j+1 < len(s) && s[j+1] == delim[0] {
			j++ // part of a longer run; not this closer
			continue
		}
		if delim[0] == '_' && j+d < len(s) && isWordByte(s[j+d]) {
			continue
		}
		clear[delim] = j
		return s[start:j], j + d - i
	}
	clear[delim] = max(clear[delim], j)
	if j+d > len(s) {
		return "", -1
	}
	return "", 0
}

// skipCodeSpan returns the index of the last backtick of the code span
// opening at s[j] (searching no further than limit), or the end of the
// opening run when it has no closer.
func skipCodeSpan(s string, j, limit int) int {
	n := runLen(s, j, '`')
	fence := s[j : j+n]
	for k := j + n; k < len(s) && k < limit; {
		off := strings.Index(s[k:min(len(s), limit)], fence)
		if off < 0 {
			break
		}
		k += off
		if m := runLen(s, k, '`'); m == n {
			return k + n - 1
		} else {
			k += m
		}
	}
	return j + n - 1
}

// mdLink parses [text](url "title") at the start of s.
func mdLink(s string) (text, url string, n int) {
	depth, j := 0, 0
	for j = 0; j < len(s) && j < maxSpan; j++ {
		switch s[j] {
		case '\\':
			j++
			continue
		case '[':
			depth++
		case ']':
			depth--
		}
		if depth == 0 {
			break
		}
	}
	if j >= len(s)-1 || s[j+1] != '(' {
		return "", "", 0
	}
	end := strings.IndexByte(s[j+2:min(len(s), j+2+maxSpan)], ')')
	if end < 0 {
		return "", "", 0
	}
	target := strings.TrimSpace(s[j+2 : j+2+end])
	if sp := strings.IndexAny(target, " \t"); sp >= 0 {
		target = target[:sp] // drop a "title"
	}
	target = strings.TrimSuffix(strings.TrimPrefix(target, "<"), ">")
	if target == "" || strings.ContainsAny(target, "|[]") {
		return "", "", 0
	}
	return s[1:j], target, j + 3 + end
}

// autolink parses <scheme://...> at the start of s.
func autolink(s string) (string, int) {
	end := strings.IndexByte(s, '>')
	if end < 0 {
		return "", 0
	}
	u := s[1:end]
	if !isURLStart(u) || strings.ContainsAny(u, " <|[]") {
		return "", 0
	}
	return u, end + 1
}

// htmlMarks maps the inline HTML tags pmsync understands to wiki effects.
var htmlMarks = map[string]string{"strong": "*", "b": "*", "em": "_", "i": "_", "del": "-", "s": "-", "ins": "+", "u": "+", "sup": "^", "sub": "~"}

// htmlSpan parses <strong>..</strong> and the other tags of htmlMarks at the
// start of s.
func htmlSpan(s string) (tag, inner string, n int) {
	for _, t := range []string{"strong", "b", "em", "i", "del", "s", "ins", "u", "sup", "sub"} {
		open, end := "<"+t+">", "</"+t+">"
		if strings.HasPrefix(s, open) {
			if k := strings.Index(s, end); k > len(open) {
				return t, s[len(open):k], k + len(end)
			}
		}
	}
	return "", "", 0
}

func isURLStart(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}

// urlLen is the length of the bare URL at the start of s, without trailing
// sentence punctuation.
// Both converters use it, so that both see the same URL.
func urlLen(s string) int {
	n := 0
	for n < len(s) && isURLByte(s[n]) {
		n++
	}
	for n > 0 && strings.IndexByte(".,;:!?)'_~", s[n-1]) >= 0 {
		n--
	}
	return n
}

// isURLByte reports whether c may appear in a bare URL (RFC 3986 characters
// other than those both markups use as syntax).
func isURLByte(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') ||
		strings.IndexByte("-._~:/?#@!$&'()+,;=%", c) >= 0
}

func runLen(s string, i int, c byte) int {
	n := 0
	for i+n < len(s) && s[i+n] == c {
		n++
	}
	return n
}

func isASCIIPunct(c byte) bool {
	return c < 128 && unicode.IsPunct(rune(c)) || strings.IndexByte("$+<=>^`|~", c) >= 0
}

func isWordByte(c byte) bool {
	return c >= 0x80 || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}
