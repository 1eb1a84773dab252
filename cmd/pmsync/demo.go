package main

import (
	"log/slog"

	"github.com/spf13/cobra"

	_ "github.com/pmsync/pmsync/connectors/all" // every tracker kind
	"github.com/pmsync/pmsync/sync/demo"
)

func newDemoCmd(a *app) *cobra.Command {
	var scriptOnly bool
	var listen string
	cmd := &cobra.Command{
		Use:   "demo [--script-only]",
		Short: "Try pmsync against built-in GitHub, GitLab and Jira simulators (no accounts, no config)",
		Long: `Start simulated trackers on 127.0.0.1 — the platform on Jira Data Center,
JaneCorp on GitHub, Acme Analytics on GitLab — and the real pmsync daemon over
them, with a bbolt file in a temporary directory. A short story on a storage
latency incident plays out: action items are filed on both sides, statuses
change, comments go both ways, one item becomes overdue. Each step waits until
pmsync has brought the other side in step and says so.

Then the dashboard's address and JaneCorp's digest are printed and the daemon
keeps running until Ctrl-C. The story is written to standard output, pmsync's
own log to standard error. No configuration file is read.

With --script-only, pmsync exits after the story: 0 if every expected state was
reached, 1 naming the first that was not.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			level := slog.LevelInfo
			if scriptOnly {
				level = slog.LevelWarn
			}
			log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
			return demo.Run(cmd.Context(), demo.Options{
				Out: a.stdout, Logger: log, Listen: listen, Version: version, Commit: commit,
			}, scriptOnly)
		},
	}
	cmd.Flags().BoolVar(&scriptOnly, "script-only", false, "play the story, check every expected state, and exit")
	cmd.Flags().StringVar(&listen, "listen", "", "address of the dashboard (default "+demo.DefaultListen+", or a free port when taken)")
	return cmd
}
