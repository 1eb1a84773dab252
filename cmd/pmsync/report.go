package main

import (
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/pmsync/pmsync/sync/daemon"
	"github.com/pmsync/pmsync/sync/remind"
)

func newReportCmd(a *app) *cobra.Command {
	var (
		customer string
		month    string
		format   string
	)
	cmd := &cobra.Command{
		Use:   "report --customer ID --month YYYY-MM [--format md|html]",
		Short: "Print the monthly review report of one customer",
		Long: `Print the monthly review report of one customer, built from the store (no
tracker is called): per incident both sides' items with owner, status, age,
due date and whether overdue; what closed in the month; critical items still
open from earlier months; totals. The HTML is a self-contained printable page.

Only the customer's own side is shown (its keys and links), so the report can
be shared with the customer as it is.

While 'pmsync serve' holds the store, the report is asked of it over HTTP
(http.listen, with http.token when set).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if customer == "" || month == "" {
				return usageErrorf("report needs --customer ID and --month YYYY-MM")
			}
			f, err := remind.ParseFormat(format)
			if err != nil || f == remind.FormatText {
				return usageErrorf("--format %q: want md or html", format)
			}
			m, err := remind.ParseMonth(month, time.UTC)
			if err != nil {
				return usageErrorf("--month: %v", err)
			}
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			if _, ok := cfg.Customer(customer); !ok {
				return usageErrorf("--customer %q: no such customer in %s", customer, cfg.File)
			}
			db, err := openRemindStore(cfg)
			if isLocked(err) {
				// A running pmsync serve holds the store: it builds the
				// same report from it.
				out, err := fromDaemon(cmd.Context(), cfg, err, daemon.ReportPath,
					url.Values{"customer": {customer}, "month": {month}, "format": {string(f)}})
				if err != nil {
					return err
				}
				_, err = a.stdout.Write(out)
				return err
			}
			if err != nil {
				return err
			}
			defer db.Close()
			r, err := remind.BuilderFrom(cfg, db).Report(cmd.Context(), customer, m, time.Now())
			if err != nil {
				return err
			}
			out, err := r.Render(f)
			if err != nil {
				return err
			}
			_, err = a.stdout.Write(out)
			return err
		},
	}
	cmd.Flags().StringVar(&customer, "customer", "", "customer id")
	cmd.Flags().StringVar(&month, "month", "", "the month to review, YYYY-MM")
	cmd.Flags().StringVar(&format, "format", "md", "md or html")
	return cmd
}
