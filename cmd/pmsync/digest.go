package main

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pmsync/pmsync/config"
	"github.com/pmsync/pmsync/store"
	"github.com/pmsync/pmsync/sync/daemon"
	"github.com/pmsync/pmsync/sync/remind"
)

func newDigestCmd(a *app) *cobra.Command {
	var (
		customer string
		platform bool
		dryRun   bool
		format   string
	)
	cmd := &cobra.Command{
		Use:   "digest (--customer ID | --platform) [--dry-run] [--format text|md|html]",
		Short: "Render a digest to stdout (--dry-run) or send it now",
		Long: `Build the digest of open critical, overdue, stale and recently closed action
items, conflicts and broken links from the store (no tracker is called).

  --customer ID          the digest of one customer: only its own items, with
                         links into its own tracker
  --platform             the platform team's digest across every customer
  --customer ID --platform
                         the platform team's view of one customer (--dry-run only)

With --dry-run the digest is printed (text by default) and nothing is sent or
recorded. Without it the digest is sent now to the recipients configured for
it (e-mail and chat), under a send record of its own, so it never replaces
the scheduled one. The digest covers the time since the last one sent.

While 'pmsync serve' holds the store, --dry-run asks it for the preview over
HTTP (http.listen, with http.token when set); sending needs the store.
Exits 1 when a recipient could not be reached, 3 when the store is in use by
a running pmsync and the digest is to be sent (or the daemon does not
answer).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if customer == "" && !platform {
				return usageErrorf("digest needs --customer ID or --platform")
			}
			if customer != "" && platform && !dryRun {
				return usageErrorf("--customer with --platform only previews; add --dry-run")
			}
			f, err := remind.ParseFormat(format)
			if err != nil {
				return usageErrorf("--format: %v", err)
			}
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			if customer != "" {
				if _, ok := cfg.Customer(customer); !ok {
					return usageErrorf("--customer %q: no such customer in %s", customer, cfg.File)
				}
			}
			db, err := openRemindStore(cfg)
			if isLocked(err) {
				if !dryRun {
					return fmt.Errorf("%w: the running pmsync serve sends the digests on their schedules; preview this one through it with --dry-run, or stop it to send one now", err)
				}
				q := url.Values{"format": {string(f)}}
				if customer != "" {
					q.Set("customer", customer)
				}
				if platform {
					q.Set("platform", "1")
				}
				out, err := fromDaemon(cmd.Context(), cfg, err, daemon.DigestPath, q)
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
			svc, err := remind.Setup(cfg, db, remind.SetupOptions{Logger: a.logger(cfg)})
			if err != nil {
				return configError(err)
			}
			aud := remind.Audience{Customer: customer, Platform: platform}
			ctx := cmd.Context()
			if dryRun {
				d, err := svc.Preview(ctx, aud)
				if err != nil {
					return err
				}
				out, err := d.Render(f)
				if err != nil {
					return err
				}
				_, err = a.stdout.Write(out)
				return err
			}
			return sendDigest(cmd, a, svc, aud)
		},
	}
	cmd.Flags().StringVar(&customer, "customer", "", "customer id")
	cmd.Flags().BoolVar(&platform, "platform", false, "the platform team's digest")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the digest instead of sending it")
	cmd.Flags().StringVar(&format, "format", "text", "output of --dry-run: text, md or html")
	return cmd
}

// sendDigest sends the digest of aud now and prints one line per
// recipient.
func sendDigest(cmd *cobra.Command, a *app, svc *remind.Service, aud remind.Audience) error {
	res, err := svc.SendNow(cmd.Context(), aud)
	if err != nil && len(res) == 0 {
		return err
	}
	var failed []string
	for _, r := range res {
		fmt.Fprintf(a.stdout, "%-8s %s\n", r.Outcome, r.Recipient)
		if r.Outcome != remind.OutcomeSent {
			failed = append(failed, r.Recipient)
		}
	}
	if err != nil {
		return err
	}
	if len(failed) > 0 {
		if st, serr := svc.Status(); serr == nil {
			for _, p := range st.Problems {
				fmt.Fprintf(a.stderr, "%s: %s\n", p.Recipient, p.LastError)
			}
		}
		return fmt.Errorf("digest not delivered to %s", strings.Join(failed, ", "))
	}
	return nil
}

// openRemindStore opens the store of cfg for a digest or report. A running
// pmsync holds the file: the error then wraps store.ErrLocked.
func openRemindStore(cfg *config.Config) (*store.DB, error) {
	db, err := store.Open(cfg.Store.Path, store.Options{})
	if err != nil {
		return nil, err
	}
	return db, nil
}
