package remind

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"

	"github.com/pmsync/pmsync/connectors"
)

// Format is an output format of digests and reports.
type Format string

// The output formats.
const (
	FormatText     Format = "text"
	FormatMarkdown Format = "md"
	FormatHTML     Format = "html"
)

// ParseFormat reads a --format value.
func ParseFormat(s string) (Format, error) {
	switch Format(strings.ToLower(s)) {
	case FormatText, "txt":
		return FormatText, nil
	case FormatMarkdown, "markdown":
		return FormatMarkdown, nil
	case FormatHTML:
		return FormatHTML, nil
	}
	return "", fmt.Errorf("format %q: want text, md or html", s)
}

//go:embed templates/*.tmpl
var templateFS embed.FS

// funcs are the helpers shared by every template. They only format; they
// never look anything up, so a template can show only what its view holds.
var funcs = map[string]any{
	"date":     fmtDate,
	"status":   statusText,
	"due":      dueText,
	"age":      func(days int) string { return fmt.Sprintf("%d d", days) },
	"line":     oneLine,
	"md":       mdEscape,
	"mdlink":   mdLink,
	"weburl":   webURL,
	"plural":   plural,
	"owner":    func(v ItemView, platform string) string { return oneLine(v.OwnerName(platform)) },
	"join":     strings.Join,
	"fields":   func(f []string) string { return orDash(strings.Join(f, ", ")) },
	"orDash":   orDash,
	"sideName": sideName,
	"month":    func(t time.Time) string { return t.Format("January 2006") },
	"pair":     func(a, b any) []any { return []any{a, b} },
}

var (
	textTemplates = texttemplate.Must(texttemplate.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.txt.tmpl", "templates/*.md.tmpl"))
	htmlTemplates = htmltemplate.Must(htmltemplate.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html.tmpl"))
)

// render executes the template base+"."+format for data.
func render(base string, f Format, data any) ([]byte, error) {
	var b bytes.Buffer
	var err error
	switch f {
	case FormatText:
		err = textTemplates.ExecuteTemplate(&b, base+".txt.tmpl", data)
	case FormatMarkdown:
		err = textTemplates.ExecuteTemplate(&b, base+".md.tmpl", data)
	case FormatHTML:
		err = htmlTemplates.ExecuteTemplate(&b, base+".html.tmpl", data)
	default:
		return nil, fmt.Errorf("render %s: unknown format %q", base, f)
	}
	if err != nil {
		return nil, fmt.Errorf("render %s as %s: %w", base, f, err)
	}
	return tidy(b.Bytes()), nil
}

// Render renders the digest in format f.
func (d *Digest) Render(f Format) ([]byte, error) { return render("digest", f, d) }

// Subject is the e-mail subject and chat headline of the digest.
func (d *Digest) Subject() string {
	who := d.CustomerName
	switch {
	case d.Audience.Platform && d.CustomerName != "":
		who = d.CustomerName + " (" + d.PlatformName + " platform view)"
	case d.Audience.Platform:
		who = d.PlatformName + " platform team"
	}
	return oneLine(fmt.Sprintf("Action items for %s: %d open critical, %d overdue", who, d.Totals.Critical, d.Totals.Overdue))
}

// Title is the heading of the digest.
func (d *Digest) Title() string {
	switch {
	case d.Audience.Platform && d.CustomerName != "":
		return oneLine("Action-item digest: " + d.CustomerName + ", " + d.PlatformName + " platform view")
	case d.Audience.Platform:
		return oneLine("Action-item digest: " + d.PlatformName + ", all customers")
	}
	return oneLine("Action-item digest: " + d.CustomerName)
}

// tidy collapses runs of blank lines that template control flow leaves
// behind and ends the output with exactly one newline.
func tidy(b []byte) []byte {
	lines := strings.Split(string(b), "\n")
	out := make([]string, 0, len(lines))
	blank := false
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if l == "" {
			if blank || len(out) == 0 {
				continue
			}
			blank = true
		} else {
			blank = false
		}
		out = append(out, l)
	}
	return []byte(strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n")
}

func fmtDate(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(dateLayout)
}

func statusText(s connectors.Status) string {
	switch s {
	case connectors.StatusOpen:
		return "open"
	case connectors.StatusInProgress:
		return "in progress"
	case connectors.StatusDone:
		return "done"
	case connectors.StatusWontDo:
		return "won't do"
	case "":
		return "—"
	}
	return oneLine(string(s))
}

// dueText renders the due date with its overdue days: "2025-03-15 (5 d
// overdue)"; a due date computed by policy is marked "(policy)".
func dueText(a Assessment) string {
	if a.Due == "" {
		return "—"
	}
	s := a.Due
	if a.DueComputed {
		s += " (policy)"
	}
	if a.Overdue {
		s += fmt.Sprintf(", %d d overdue", a.DaysOverdue)
	}
	return s
}

func sideName(side, platform, customer string) string {
	if side == "platform" {
		return oneLine(platform)
	}
	return oneLine(customer)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

// oneLine makes s safe to print on one line: control characters (newlines
// included) become spaces and runs of spaces collapse.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// mdEscape makes s safe as inline Markdown text (including in a table
// cell): one line, with Markdown's punctuation backslash-escaped.
func mdEscape(s string) string {
	s = oneLine(s)
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>|#!~&", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// webURL returns u when it is an absolute http(s) URL, else "".
func webURL(u string) string {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return ""
	}
	return p.String()
}

// mdLink renders [text](url), or the escaped text alone when url is not a
// web URL.
func mdLink(text, u string) string {
	u = webURL(u)
	if u == "" {
		return mdEscape(text)
	}
	u = strings.NewReplacer("(", "%28", ")", "%29", " ", "%20").Replace(u)
	return "[" + mdEscape(text) + "](" + u + ")"
}
