package dashboard

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/pmsync/pmsync/connectors"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

var page = template.Must(template.New("page.html.tmpl").Funcs(template.FuncMap{
	"plural": func(n int, one, many string) string {
		if n == 1 {
			return fmt.Sprintf("%d %s", n, one)
		}
		return fmt.Sprintf("%d %s", n, many)
	},
	"clock": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"orDash": func(s string) string {
		if strings.TrimSpace(s) == "" {
			return "—"
		}
		return s
	},
	"lower":       strings.ToLower,
	"statusText":  statusText,
	"statusClass": func(s connectors.Status) string { return string(s) },
}).ParseFS(templateFS, "templates/*.tmpl"))

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
	}
	return string(s)
}

// Render writes the page as HTML.
func (p *Page) Render() ([]byte, error) {
	var b bytes.Buffer
	if err := page.Execute(&b, p); err != nil {
		return nil, fmt.Errorf("dashboard: render: %w", err)
	}
	return b.Bytes(), nil
}

// Handler serves the dashboard: GET / renders a fresh page on every
// request. Anything else under / is 404, other methods 405.
type Handler struct {
	src   Source
	input func() Input
	log   *slog.Logger
}

// NewHandler returns the dashboard handler. input is called on every
// request for the current configuration and tracker states (so a reload
// shows at once); src is read for the links.
func NewHandler(src Source, input func() Input, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{src: src, input: input, log: log}
}

// ServeHTTP renders the dashboard.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p, err := Build(h.src, h.input())
	var body []byte
	if err == nil {
		body, err = p.Render()
	}
	if err != nil {
		h.log.Error("dashboard failed", "err", err)
		http.Error(w, "the dashboard could not be built; see the pmsync log", http.StatusInternalServerError)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}
