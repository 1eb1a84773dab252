package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pmsync/pmsync/sync/engine"
)

func newStatusCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [--json]",
		Short: "Show links, open critical items, conflicts and broken links per customer",
		Long: `Read the store and show, per customer: links (active, unshared, broken), open
critical items, conflicts resolved, links whose last sync failed, and each
broken link with its reason; per tracker: whether a watermark is stored, and
the last poll and queue depth when this process polled. No tracker is
called.

A running 'pmsync serve' holds the store: use its dashboard instead (exit 3).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			eng, db, err := openEngine(cfg, a.logger(cfg))
			if err != nil {
				return err
			}
			defer db.Close()
			defer eng.Close()
			st := eng.Status()
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(st); err != nil {
					return err
				}
			} else if err := writeStatus(a.stdout, st); err != nil {
				return err
			}
			if st.Error != "" {
				return fmt.Errorf("store: %s", st.Error)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	return cmd
}

// writeStatus prints a status for people.
func writeStatus(w io.Writer, st engine.Status) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CUSTOMER\tLINKS\tACTIVE\tUNSHARED\tBROKEN\tOPEN CRITICAL\tCONFLICTS\tERRORS\tQUEUED")
	for _, c := range st.Customers {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n",
			c.ID, c.Links, c.Active, c.Unshared, c.Broken, c.OpenCritical, c.Conflicts, c.Errors, c.QueueDepth)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "TRACKER\tKIND\tWATERMARK\tLAST POLL\tLAST ERROR")
	for _, t := range st.Trackers {
		wm := "none"
		if t.Watermark {
			wm = "stored"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Kind, wm, when(t.LastPoll), dash(t.LastError))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var b strings.Builder
	for _, c := range st.Customers {
		for _, bl := range c.BrokenLinks {
			fmt.Fprintf(&b, "broken: %s link %s (%s ↔ %s): %s\n", c.ID, bl.Link, bl.Platform, bl.Remote, bl.Reason)
		}
	}
	fmt.Fprintf(&b, "open intents: %d, queue depth: %d\n", st.Intents, st.QueueDepth)
	_, err := io.WriteString(w, "\n"+b.String())
	return err
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
