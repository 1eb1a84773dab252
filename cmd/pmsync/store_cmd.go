package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/pmsync/pmsync/store"
)

func newStoreCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Maintain the store: backup, check, rebuild",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(a.stderr)
			_ = cmd.Help()
			return usageErrorf("store needs a subcommand: backup, check or rebuild")
		},
	}
	cmd.AddCommand(newStoreBackupCmd(a), newStoreCheckCmd(a), newStoreRebuildCmd(a))
	return cmd
}

func newStoreBackupCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent copy of the store to FILE",
		Long: `Write a consistent copy of the store to FILE (a store file that pmsync opens
as it is). The copy is written next to FILE first and renamed into place, so
FILE is never half-written. It holds every customer's data: keep it as safe
as the store itself.

To back up the store of a running 'pmsync serve', use its admin endpoint; this
command needs the file to itself (exit 3 otherwise).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			db, err := store.Open(cfg.Store.Path, store.Options{Logger: a.logger(cfg)})
			if err != nil {
				return err
			}
			defer db.Close()
			n, err := backupTo(db, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "backup of %s written to %s (%d bytes)\n", cfg.Store.Path, args[0], n)
			return nil
		},
	}
}

// backupTo writes a backup of db to path through a temporary file.
func backupTo(db *store.DB, path string) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(tmp.Name())
	n, err := db.Backup(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o600)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return 0, fmt.Errorf("backup to %s: %w", path, err)
	}
	return n, nil
}

func newStoreCheckCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Verify the store file and pmsync's own invariants",
		Long: `Verify the store: bbolt's page-level check and pmsync's invariants (every link
indexed by its refs, every record under the customer it names). Exits 0 when
the store is sound and 1, listing the problems, when it is not.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			db, err := store.Open(cfg.Store.Path, store.Options{Logger: a.logger(cfg)})
			if err != nil {
				return err
			}
			defer db.Close()
			if err := db.Check(); err != nil {
				return err
			}
			st := db.Stats()
			fmt.Fprintf(a.stdout, "store %s is sound: schema %d, %d customers, %d links, %d open intents\n",
				cfg.Store.Path, st.Schema, st.Customers, st.Links, st.Intents)
			return nil
		},
	}
}

func newStoreRebuildCmd(a *app) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "rebuild",
		Short: "Rebuild the links from the markers in the trackers",
		Long: `Rebuild the store's links from the trackers alone, after the store file was
lost: every tracker is listed, each mirror is recognised by its hidden marker
and paired with its origin, and its comment links are found by their markers.
Links with the same ids are replaced. Progress goes to stderr.

Mirrors whose origin no longer exists are listed as orphans and left alone.
Exits 0 when done, 1 when a tracker could not be read, 3 when a running
pmsync holds the store.`,
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
			last := -1
			progress := func(done, total int) {
				if quiet || total == 0 {
					return
				}
				pct := done * 100 / total
				if pct/10 != last/10 || done == total {
					fmt.Fprintf(a.stderr, "rebuild: %d/%d mirrors (%d%%)\n", done, total, pct)
					last = pct
				}
			}
			res, err := eng.Rebuild(cmd.Context(), progress)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "rebuilt %d links and %d comment links\n", res.Links, res.Comments)
			for _, o := range res.Orphans {
				fmt.Fprintf(a.stdout, "orphan mirror (origin gone): %s\n", o)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&quiet, "quiet", false, "do not report progress")
	return cmd
}
