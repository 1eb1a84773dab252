package jira

import (
	"regexp"
	"strconv"
	"strings"
)

var (
	wCodeRE    = regexp.MustCompile(`^[ \t]*\{(code|noformat)(?::([^}]*))?\}(.*)$`)
	wQuoteRE   = regexp.MustCompile(`^[ \t]*\{quote\}(.*)$`)
	wHeadingRE = regexp.MustCompile(`^[ \t]*h([1-6])\.[ \t]*(.*)$`)
	wBqRE      = regexp.MustCompile(`^[ \t]*bq\.[ \t]?(.*)$`)
	wListRE    = regexp.MustCompile(`^[ \t]*([*#]+|-)[ \t]+(.*)$`)
	wRuleRE    = regexp.MustCompile(`^[ \t]*-{4,}[ \t]*$`)
	// wMacroRE matches wiki macros that have no Markdown equivalent and are
	// dropped, keeping any text between them.
	wMacroRE = regexp.MustCompile(`\{(color|anchor|panel|section|column|div|span|info|note|tip|warning|expand)(:[^}]*)?\}`)
)

// WikiToMarkdown converts Jira wiki markup to Markdown.
func WikiToMarkdown(w string) string {
	w = strings.ReplaceAll(w, "\r\n", "\n")
	w = strings.ReplaceAll(w, "\r", "\n")       // a lone CR ends a line too
	w = strings.ReplaceAll(w, "\x00", "\uFFFD") // Jira cannot store NUL
	var out []string
	wikiBlocks(strings.Split(w, "\n"), &out)
	return strings.Join(out, "\n")
}

func wikiBlocks(lines []string, out *[]string) {
	var list wikiList
	for i := 0; i < len(lines); {
		line := lines[i]
		if m := wCodeRE.FindStringSubmatch(line); m != nil {
			i = wikiCode(lines, i, m, out)
			list.reset()
			continue
		}
		if m := wQuoteRE.FindStringSubmatch(line); m != nil {
			i = wikiQuote(lines, i, m[1], out)
			list.reset()
			continue
		}
		if strings.HasPrefix(strings.TrimLeft(line, " "), "<!--") {
			i = mdHTMLComment(lines, i, out)
			continue
		}
		if stripped := wMacroRE.ReplaceAllString(line, ""); stripped != line && strings.TrimSpace(stripped) == "" {
			i++ // a line holding only macros (panel, color, anchor)
			continue
		}
		switch {
		case wRuleRE.MatchString(line):
			*out = append(*out, "---")
			list.reset()
		case wHeadingRE.MatchString(line):
			m := wHeadingRE.FindStringSubmatch(line)
			n, _ := strconv.Atoi(m[1])
			text := strings.TrimRight(wikiInline(m[2]), " \t")
			if h := strings.TrimRight(text, "#"); h != text && (h == "" || h[len(h)-1] == ' ' || h[len(h)-1] == '\t') {
				text = h + "\\" + text[len(h):] // a trailing " #" would close the heading
			}
			*out = append(*out, strings.TrimRight(strings.Repeat("#", n)+" "+text, " "))
			list.reset()
		case wBqRE.MatchString(line):
			*out = append(*out, quoteLine(wikiInline(wBqRE.FindStringSubmatch(line)[1])))
			list.reset()
		case wListRE.MatchString(line):
			m := wListRE.FindStringSubmatch(line)
			prefix, text := list.item(m[1]), wikiInline(m[2])
			if mdRuleRE.MatchString(prefix+text) || mdListRE.MatchString(text) {
				text = "\\" + text // "- --" would be a rule, "- - x" a nested list
			}
			*out = append(*out, prefix+text)
		case strings.HasPrefix(strings.TrimLeft(line, " \t"), "|"):
			i = wikiTable(lines, i, out)
			list.reset()
			continue
		case strings.TrimSpace(line) == "":
			*out = append(*out, "")
			list.reset()
		default:
			*out = append(*out, mdParagraphStart(strings.TrimLeft(wikiInline(line), " \t")))
			list.reset()
		}
		i++
	}
}

// wikiCode converts {code}/{noformat} blocks to a fenced code block.
func wikiCode(lines []string, i int, m []string, out *[]string) int {
	macro, lang := m[1], ""
	if macro == "code" {
		lang = codeLanguage(m[2])
	}
	body, j := collectUntil(lines, i, m[3], "{"+macro+"}")
	fence := "```"
	for strings.Contains(strings.Join(body, "\n"), fence) {
		fence += "`"
	}
	*out = append(*out, fence+lang)
	*out = append(*out, body...)
	*out = append(*out, fence)
	return j
}

// codeLanguage reads the language from {code:go} or {code:title=x|language=go}.
func codeLanguage(params string) string {
	for _, p := range strings.Split(params, "|") {
		p = strings.TrimSpace(p)
		if k, v, ok := strings.Cut(p, "="); ok {
			if strings.EqualFold(k, "language") || strings.EqualFold(k, "lang") {
				return strings.TrimSpace(v)
			}
			continue
		}
		if p != "" && !strings.ContainsAny(p, " `") {
			return p
		}
	}
	return ""
}

// wikiQuote converts a {quote} block, whose text may start on its first line.
func wikiQuote(lines []string, i int, first string, out *[]string) int {
	inner, j := collectUntil(lines, i, first, "{quote}")
	var md []string
	wikiBlocks(inner, &md)
	for _, l := range md {
		*out = append(*out, quoteLine(l))
	}
	return j
}

// collectUntil gathers the lines of a block macro opened on lines[i], whose
// text after the opening tag is first, up to the closing tag end. It returns
// the body and the index of the line after the block.
func collectUntil(lines []string, i int, first, end string) ([]string, int) {
	if k := strings.Index(first, end); k >= 0 {
		if first[:k] == "" {
			return nil, i + 1
		}
		return []string{first[:k]}, i + 1
	}
	var body []string
	if first != "" {
		body = append(body, first)
	}
	for j := i + 1; j < len(lines); j++ {
		if k := strings.Index(lines[j], end); k >= 0 {
			if lines[j][:k] != "" {
				body = append(body, lines[j][:k])
			}
			return body, j + 1
		}
		body = append(body, lines[j])
	}
	return body, len(lines)
}

func quoteLine(l string) string {
	if l == "" {
		return ">"
	}
	return "> " + l
}

// wikiTable converts consecutive table rows; a Markdown table needs a header
// row, so a table without one gets an empty header.
func wikiTable(lines []string, i int, out *[]string) int {
	j := i
	for j < len(lines) && strings.HasPrefix(strings.TrimLeft(lines[j], " \t"), "|") {
		row := strings.TrimSpace(lines[j])
		header := strings.HasPrefix(row, "||")
		sep := "|"
		if header {
			sep = "||"
		}
		cells := splitWikiCells(row, sep)
		md := make([]string, len(cells))
		for k, c := range cells {
			md[k] = strings.ReplaceAll(wikiInline(strings.TrimSpace(c)), "|", "\\|")
		}
		if j == i && !header {
			empty := make([]string, len(cells))
			*out = append(*out, mdRow(empty), mdSeparator(len(cells)))
		}
		*out = append(*out, mdRow(md))
		if j == i && header {
			*out = append(*out, mdSeparator(len(cells)))
		}
		j++
	}
	return j
}

func mdRow(cells []string) string {
	return "| " + strings.Join(cells, " | ") + " |"
}

func mdSeparator(n int) string {
	return "|" + strings.Repeat(" --- |", n)
}

// splitWikiCells splits a wiki table row on sep, outside links, code and
// escapes.
func splitWikiCells(row, sep string) []string {
	row = strings.TrimSuffix(strings.TrimPrefix(row, sep), sep)
	if sep == "||" && strings.HasSuffix(row, "|") && !escaped(row, len(row)-1) {
		row = row[:len(row)-1] // "||a||b|" is also seen
	}
	var cells []string
	depth, start := 0, 0
	for k := 0; k < len(row); k++ {
		switch {
		case row[k] == '\\':
			k++
		case row[k] == '[' || strings.HasPrefix(row[k:], "{{"):
			depth++
		case (row[k] == ']' || strings.HasPrefix(row[k:], "}}")) && depth > 0:
			depth--
		case depth == 0 && strings.HasPrefix(row[k:], sep):
			cells = append(cells, row[start:k])
			k += len(sep) - 1
			start = k + 1
		case depth == 0 && row[k] == '|':
			cells = append(cells, row[start:k])
			start = k + 1
		}
	}
	return append(cells, row[start:])
}

// wikiList tracks list nesting and numbering while converting wiki lists.
type wikiList struct {
	kinds    []byte
	counters []int
}

func (l *wikiList) reset() { l.kinds, l.counters = nil, nil }

// item returns the Markdown indentation and marker for wiki markers m.
func (l *wikiList) item(m string) string {
	if m == "-" {
		m = "*"
	}
	common := 0
	for common < len(m) && common < len(l.kinds) && l.kinds[common] == m[common] {
		common++
	}
	if common == len(m) && common > 0 {
		common-- // same level: keep the parents, renumber this one
		l.kinds, l.counters = l.kinds[:len(m)], l.counters[:len(m)]
		l.counters[common]++
	} else {
		l.kinds, l.counters = l.kinds[:common], l.counters[:common]
		for k := common; k < len(m); k++ {
			l.kinds = append(l.kinds, m[k])
			l.counters = append(l.counters, 1)
		}
	}
	var b strings.Builder
	for k := 0; k < len(m)-1; k++ {
		b.WriteString(strings.Repeat(" ", markerWidth(l.kinds[k], l.counters[k])))
	}
	if m[len(m)-1] == '#' {
		b.WriteString(strconv.Itoa(l.counters[len(m)-1]) + ". ")
	} else {
		b.WriteString("- ")
	}
	return b.String()
}

func markerWidth(kind byte, counter int) int {
	if kind == '#' {
		return len(strconv.Itoa(counter)) + 2
	}
	return 2
}

var mdOrderedStartRE = regexp.MustCompile(`^(\d{1,9})([.)])( |$)`)

// mdParagraphStart escapes what Markdown would read as block syntax at the
// start of a paragraph line.
func mdParagraphStart(s string) string {
	if s == "" {
		return s
	}
	if m := mdOrderedStartRE.FindStringSubmatch(s); m != nil {
		return m[1] + "\\" + s[len(m[1]):]
	}
	if mdListRE.MatchString(s) || mdHeadingRE.MatchString(s) || mdQuoteRE.MatchString(s) || mdRuleRE.MatchString(s) ||
		mdFenceRE.MatchString(s) || strings.HasPrefix(s, "=") || strings.HasPrefix(s, "|") ||
		s == "-" || s == "+" || s == "*" {
		return "\\" + s
	}
	return s
}
