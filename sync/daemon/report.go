package daemon

import (
	"fmt"
	"net/http"
	"time"

	"github.com/pmsync/pmsync/sync/remind"
)

// ReportPath serves the monthly review report of one customer:
// GET ReportPath?customer=ID&month=YYYY-MM&format=md|html. `pmsync report`
// asks here when a running daemon holds the store.
const ReportPath = "/admin/report"

// DigestPath serves a preview of a digest, as `pmsync digest --dry-run`
// prints it (nothing is sent or recorded):
// GET DigestPath?customer=ID | platform=1 [&format=text|md|html].
const DigestPath = "/admin/digest"

// serveDigest renders the digest that the daemon would send now to one
// customer (customer=ID), to the platform team (platform=1), or the
// platform team's view of one customer (both).
func (d *Daemon) serveDigest(w http.ResponseWriter, r *http.Request) {
	if !getOnly(w, r) {
		return
	}
	q := r.URL.Query()
	g := d.cur.Load()
	aud := remind.Audience{Customer: q.Get("customer"), Platform: q.Get("platform") == "1" || q.Get("platform") == "true"}
	if aud.Customer == "" && !aud.Platform {
		http.Error(w, "customer or platform: required (customer=ID, platform=1, or both)", http.StatusBadRequest)
		return
	}
	if _, ok := g.cfg.Customer(aud.Customer); aud.Customer != "" && !ok {
		http.Error(w, fmt.Sprintf("customer %q: no such customer in the configuration", aud.Customer), http.StatusNotFound)
		return
	}
	format := q.Get("format")
	if format == "" {
		format = string(remind.FormatText)
	}
	f, err := remind.ParseFormat(format)
	if err != nil {
		http.Error(w, fmt.Sprintf("format %q: want text, md or html", format), http.StatusBadRequest)
		return
	}
	dg, err := g.rem.Preview(r.Context(), aud)
	var out []byte
	if err == nil {
		out, err = dg.Render(f)
	}
	if err != nil {
		d.log.Error("digest preview over HTTP failed", "customer", aud.Customer, "platform", aud.Platform, "err", err)
		http.Error(w, "the digest could not be built; see pmsync's log", http.StatusInternalServerError)
		return
	}
	writeRendered(w, f, out)
}

// serveReport renders the monthly review report of one customer from the
// store, as `pmsync report` does. Like the dashboard it needs the bearer
// token when one is set; the report shows only that customer's side.
func (d *Daemon) serveReport(w http.ResponseWriter, r *http.Request) {
	if !getOnly(w, r) {
		return
	}
	q := r.URL.Query()
	cfg := d.cur.Load().cfg
	customer := q.Get("customer")
	if customer == "" {
		http.Error(w, "customer: required (a customer id)", http.StatusBadRequest)
		return
	}
	if _, ok := cfg.Customer(customer); !ok {
		http.Error(w, fmt.Sprintf("customer %q: no such customer in the configuration", customer), http.StatusNotFound)
		return
	}
	format := q.Get("format")
	if format == "" {
		format = string(remind.FormatMarkdown)
	}
	f, err := remind.ParseFormat(format)
	if err != nil || f == remind.FormatText {
		http.Error(w, fmt.Sprintf("format %q: want md or html", format), http.StatusBadRequest)
		return
	}
	m, err := remind.ParseMonth(q.Get("month"), time.UTC)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest) // names the month and the form
		return
	}
	rep, err := remind.BuilderFrom(cfg, d.db).Report(r.Context(), customer, m, d.now())
	var out []byte
	if err == nil {
		out, err = rep.Render(f)
	}
	if err != nil {
		d.log.Error("monthly report over HTTP failed", "customer", customer, "err", err)
		http.Error(w, "the report could not be built; see pmsync's log", http.StatusInternalServerError)
		return
	}
	writeRendered(w, f, out)
}

// writeRendered answers with out, rendered in format f.
func writeRendered(w http.ResponseWriter, f remind.Format, out []byte) {
	ct := map[remind.Format]string{remind.FormatText: "text/plain", remind.FormatMarkdown: "text/markdown", remind.FormatHTML: "text/html"}[f]
	w.Header().Set("Content-Type", ct+"; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(out)
}

// getOnly answers 405 to anything but GET and reports whether the request
// may go on.
func getOnly(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet {
		return true
	}
	w.Header().Set("Allow", http.MethodGet)
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}
