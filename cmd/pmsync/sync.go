package main

import (
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/pmsync/pmsync/config"
	_ "github.com/pmsync/pmsync/connectors/all" // every tracker kind
	"github.com/pmsync/pmsync/store"
	"github.com/pmsync/pmsync/sync/engine"
)

func newSyncCmd(a *app) *cobra.Command {
	var once, dryRun, asJSON bool
	cmd := &cobra.Command{
		Use:   "sync --once [--dry-run] [--json]",
		Short: "Run one sync pass now, or plan it with --dry-run",
		Long: `Run one full sync pass and exit: resolve open intents, reconcile every link,
and mirror everything each tracker reports changed since its watermark. The
writes made are printed per tracker (field names, never their values).

With --dry-run nothing is written anywhere (no tracker write, no intent, no
link, no watermark): the writes that a pass would make are printed instead.

The daemon that syncs continuously is 'pmsync serve'; this command needs the
store file to itself. Exits 0 when every item was reconciled, 1 when some
failed (they are listed), 2 on a usage or configuration error, 3 when a
running pmsync holds the store.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !once {
				return usageErrorf("sync needs --once (the daemon that syncs continuously is 'pmsync serve')")
			}
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			log := a.logger(cfg)
			eng, db, err := openEngine(cfg, log)
			if err != nil {
				return err
			}
			defer db.Close()
			defer eng.Close()
			plan, err := eng.SyncOnce(cmd.Context(), dryRun)
			if plan != nil {
				if perr := printPlan(a, plan, asJSON); perr != nil && err == nil {
					err = perr
				}
			}
			if err != nil {
				return err
			}
			if n := len(plan.Failures); n > 0 {
				return fmt.Errorf("%d %s could not be synced", n, plural(n, "item", "items"))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&once, "once", false, "run one pass and exit (required)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the writes a pass would make and make none")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the plan as JSON")
	return cmd
}

// openEngine opens the store of cfg and builds the engine on it. A running
// pmsync holds the store: the error then wraps store.ErrLocked.
func openEngine(cfg *config.Config, log *slog.Logger) (*engine.Engine, *store.DB, error) {
	db, err := store.Open(cfg.Store.Path, store.Options{Logger: log})
	if err != nil {
		return nil, nil, err
	}
	eng, err := engine.FromConfig(cfg, db, log)
	if err != nil {
		_ = db.Close()
		return nil, nil, configError(err)
	}
	return eng, db, nil
}

func printPlan(a *app, plan *engine.Plan, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(plan)
	}
	return plan.Format(a.stdout)
}
