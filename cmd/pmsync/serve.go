package main

import (
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/pmsync/pmsync/config"
	_ "github.com/pmsync/pmsync/connectors/all" // every tracker kind
	"github.com/pmsync/pmsync/sync/daemon"
)

func newServeCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the daemon: sync continuously, take webhooks, send digests, serve the dashboard",
		Long: `Run pmsync as a daemon: poll every tracker, take webhooks at
/webhooks/<tracker-id>, keep every link in step, send the scheduled digests and
reminders, and serve /healthz, /readyz, /metrics and the dashboard at / on
http.listen (loopback by default; with http.token set, every path but /healthz,
/readyz and /webhooks/... needs "Authorization: Bearer <token>").

SIGTERM or Ctrl-C: stop taking requests, finish the work in flight, close the
store, exit 0. SIGHUP: read the configuration again and apply it; a
configuration that does not load or validate is refused (logged) and the running
one stays in force.

Exits 2 on a usage or configuration error, 3 when another pmsync holds the
store, 1 on any other failure.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			path := a.configFile()
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			level := new(slog.LevelVar)
			level.Set(cfg.Log.SlogLevel())
			log := leveledLogger(a.stderr, cfg.Log.Format, level)
			d, err := daemon.New(daemon.Options{
				Config: cfg, Logger: log, LevelVar: level, Version: version, Commit: commit,
				Load: func() (*config.Config, error) { return config.Load(path) },
			})
			if err != nil {
				return configError(err)
			}
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			if err := d.Start(cmd.Context()); err != nil {
				return err
			}
			for {
				select {
				case <-d.Done():
					return d.Wait()
				case <-hup:
					log.Info("SIGHUP: reading the configuration again", "file", path)
					_ = d.Reload() // a refusal is logged; the running configuration stays
				}
			}
		},
	}
}

// leveledLogger is app.logger with a level that a reload can change.
func leveledLogger(w io.Writer, format string, level *slog.LevelVar) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
