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

// serveReport renders the monthly review report of one customer from the
// store, as `pmsync report` does. Like the dashboard it needs the bearer
// token when one is set; the report shows only that customer's side.
func (d *Daemon) serveReport(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
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
	ct := "text/markdown; charset=utf-8"
	if f == remind.FormatHTML {
		ct = "text/html; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(out)
}
