package jira

import (
	"regexp"
	"strconv"
	"strings"
)

// Jira REST v2 (Cloud and Data Center) stores descriptions and comment bodies
// as wiki markup; pmsync's canonical bodies are Markdown. MarkdownToWiki and
// WikiToMarkdown convert between the two. They cover what postmortem action
// items use: headings, bold, italic, strikethrough, code spans and blocks,
// links, images, bullet and numbered lists (nested), block quotes, tables,
// horizontal rules and HTML comments (kept verbatim, as the engine's
// <!-- share --> markers are). Anything else is carried as escaped literal
// text, so nothing a person wrote is lost or turned into markup by accident.
//
// Round trips are stable: for any Markdown m, WikiToMarkdown(MarkdownToWiki(m))
// is a fixed point of the pair (a second round trip changes nothing), and it
// equals m for Markdown written in the canonical style that pmsync itself
// produces ("**bold**", "_italic_", "- " bullets, "1. " numbers, fenced code).

var (
	mdFenceRE   = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})[ \t]*([^`\\s]*)[^`]*$")
	mdHeadingRE = regexp.MustCompile(`^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$`)
	mdRuleRE    = regexp.MustCompile(`^ {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$`)
	mdQuoteRE   = regexp.MustCompile(`^ {0,3}> ?(.*)$`)
	mdListRE    = regexp.MustCompile(`^([ \t]*)([-*+]|\d{1,9}[.)])[ \t]+(.*)$`)
	mdTableSep  = regexp.MustCompile(`^ {0,3}\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$`)
)

// MarkdownToWiki converts a Markdown body to Jira wiki markup.
func MarkdownToWiki(md string) string {
	md = strings.ReplaceAll(md, "\r\n", "\n")
	md = strings.ReplaceAll(md, "\r", "\n")       // a lone CR ends a line too
	md = strings.ReplaceAll(md, "\x00", "\uFFFD") // Jira cannot store NUL
	lines := strings.Split(md, "\n")
	var out []string
	mdBlocks(lines, &out)
	return strings.Join(out, "\n")
}

// mdBlocks converts Markdown lines block by block and appends wiki lines.
func mdBlocks(lines []string, out *[]string) {
	var list listState
	for i := 0; i < len(lines); {
		line := lines[i]
		if m := mdFenceRE.FindStringSubmatch(line); m != nil {
			i = mdFence(lines, i, m[1], m[2], out)
			list.reset()
			continue
		}
		if strings.HasPrefix(strings.TrimLeft(line, " "), "<!--") {
			i = mdHTMLComment(lines, i, out)
			continue
		}
		if mdQuoteRE.MatchString(line) {
			var inner []string
			for ; i < len(lines); i++ {
				m := mdQuoteRE.FindStringSubmatch(lines[i])
				if m == nil {
					break
				}
				inner = append(inner, m[1])
			}
			*out = append(*out, "{quote}")
			mdBlocks(inner, out)
			*out = append(*out, "{quote}")
			list.reset()
			continue
		}
		if mdRuleRE.MatchString(line) {
			*out = append(*out, "----")
			list.reset()
			i++
			continue
		}
		if m := mdHeadingRE.FindStringSubmatch(line); m != nil {
			*out = append(*out, "h"+strconv.Itoa(len(m[1]))+". "+mdInline(m[2]))
			list.reset()
			i++
			continue
		}
		if m := mdListRE.FindStringSubmatch(line); m != nil {
			ordered := m[2] != "-" && m[2] != "*" && m[2] != "+"
			prefix := list.push(indentWidth(m[1]), ordered)
			*out = append(*out, prefix+" "+mdInline(m[3]))
			i++
			continue
		}
		if isTableRow(line) && i+1 < len(lines) && mdTableSep.MatchString(lines[i+1]) {
			i = mdTable(lines, i, out)
			list.reset()
			continue
		}
		if strings.TrimSpace(line) == "" {
			list.reset()
			*out = append(*out, "")
			i++
			continue
		}
		if list.active() && strings.HasPrefix(line, " ") {
			// A continuation line of a list item: Jira items are one line.
			*out = append(*out, mdInline(strings.TrimSpace(line)))
			i++
			continue
		}
		*out = append(*out, mdLineStart(mdInline(strings.TrimLeft(line, " "))))
		i++
	}
}

// mdFence copies a fenced code block starting at lines[i].
func mdFence(lines []string, i int, fence, lang string, out *[]string) int {
	var body []string
	j := i + 1
	for ; j < len(lines); j++ {
		t := strings.TrimSpace(lines[j])
		if strings.HasPrefix(t, fence[:1]) && len(t) >= len(fence) && strings.Trim(t, fence[:1]) == "" {
			break
		}
		body = append(body, lines[j])
	}
	text := strings.Join(body, "\n")
	open, end := "{code}", "{code}"
	if lang != "" {
		open = "{code:" + lang + "}"
	}
	if strings.Contains(text, "{code}") && !strings.Contains(text, "{noformat}") {
		open, end = "{noformat}", "{noformat}"
	}
	*out = append(*out, open)
	*out = append(*out, body...)
	*out = append(*out, end)
	if j < len(lines) {
		j++ // the closing fence
	}
	return j
}

// mdHTMLComment copies an HTML comment verbatim; Jira shows it as text, and
// it comes back unchanged.
func mdHTMLComment(lines []string, i int, out *[]string) int {
	for j := i; j < len(lines); j++ {
		*out = append(*out, lines[j])
		if strings.Contains(lines[j], "-->") {
			return j + 1
		}
	}
	return len(lines)
}

func isTableRow(line string) bool {
	t := strings.TrimSpace(line)
	return strings.HasPrefix(t, "|") && len(t) > 1
}

// mdTable converts a pipe table (header, separator, rows).
func mdTable(lines []string, i int, out *[]string) int {
	*out = append(*out, "||"+strings.Join(mapCells(splitCells(lines[i]), mdCell), "||")+"||")
	j := i + 2
	for ; j < len(lines) && isTableRow(lines[j]); j++ {
		*out = append(*out, "|"+strings.Join(mapCells(splitCells(lines[j]), mdCell), "|")+"|")
	}
	return j
}

// mdCell converts a table cell, which a delimiter follows.
func mdCell(s string) string { return mdInlineAt(s, 1) }

// splitCells splits a table row on unescaped pipes, trimming the outer ones.
func splitCells(row string) []string {
	row = strings.TrimSpace(row)
	row = strings.TrimPrefix(row, "|")
	if strings.HasSuffix(row, "|") && !escaped(row, len(row)-1) {
		row = row[:len(row)-1]
	}
	var cells []string
	var b strings.Builder
	for k := 0; k < len(row); k++ {
		switch {
		case row[k] == '\\' && k+1 < len(row) && row[k+1] == '|':
			b.WriteString("\\|")
			k++
		case row[k] == '|':
			cells = append(cells, strings.TrimSpace(b.String()))
			b.Reset()
		default:
			b.WriteByte(row[k])
		}
	}
	return append(cells, strings.TrimSpace(b.String()))
}

func mapCells(cells []string, f func(string) string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = f(c)
		if out[i] == "" {
			out[i] = " "
		}
	}
	return out
}

func indentWidth(s string) int {
	n := 0
	for _, r := range s {
		if r == '\t' {
			n += 4
		} else {
			n++
		}
	}
	return n
}

// listState tracks the nesting of Markdown list items by indentation.
type listState struct {
	indents []int
	ordered []bool
}

func (l *listState) reset()       { l.indents, l.ordered = nil, nil }
func (l *listState) active() bool { return len(l.indents) > 0 }

// push records an item at indent and returns its wiki prefix ("*", "#*", ...).
func (l *listState) push(indent int, ordered bool) string {
	for len(l.indents) > 0 && indent < l.indents[len(l.indents)-1] {
		l.indents, l.ordered = l.indents[:len(l.indents)-1], l.ordered[:len(l.ordered)-1]
	}
	if n := len(l.indents); n > 0 && indent == l.indents[n-1] {
		l.ordered[n-1] = ordered
	} else {
		l.indents, l.ordered = append(l.indents, indent), append(l.ordered, ordered)
	}
	var b strings.Builder
	for _, o := range l.ordered {
		if o {
			b.WriteByte('#')
		} else {
			b.WriteByte('*')
		}
	}
	return b.String()
}

// mdLineStart escapes what wiki would read as block syntax at a line start.
func mdLineStart(s string) string {
	switch {
	case wListRE.MatchString(s), wRuleRE.MatchString(s), strings.HasPrefix(s, "#"), strings.HasPrefix(s, "|"):
		return "\\" + s
	case wHeadingRE.MatchString(s), wBqRE.MatchString(s):
		// "h1." / "bq." open a heading or quote in wiki; a backslash
		// before the dot keeps them text.
		i := strings.IndexByte(s, '.')
		return s[:i] + "\\" + s[i:]
	}
	return s
}
