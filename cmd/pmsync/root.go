package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/pmsync/pmsync/config"
)

// Where the configuration is looked for when neither --config nor
// PMSYNC_CONFIG names it: the working directory first, then /etc.
const (
	localConfigPath  = "pmsync.yaml"
	systemConfigPath = "/etc/pmsync/pmsync.yaml"
	configEnv        = "PMSYNC_CONFIG"
)

// app is what every command shares: the output streams and the global
// flags. Commands get it from their constructor.
type app struct {
	stdout, stderr io.Writer
	configPath     string // --config
	// started is set once flags and arguments parsed and a command began
	// to run; an error before that is a usage error.
	started bool
}

// run executes pmsync with args (without the program name) and returns
// the exit code. It is main without the process: tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr}
	root := newRootCmd(a)
	if args == nil {
		args = []string{} // cobra reads os.Args for nil
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	code := exitCode(err)
	if !a.started && code == ExitFailure {
		code = ExitUsage // cobra's own errors: unknown command or flag, wrong arguments
	}
	var cl config.ErrorList
	if errors.As(err, &cl) {
		for _, e := range cl {
			fmt.Fprintln(stderr, e)
		}
		fmt.Fprintf(stderr, "pmsync: invalid configuration: %d %s\n", len(cl), plural(len(cl), "problem", "problems"))
		return code
	}
	fmt.Fprintf(stderr, "pmsync: %v\n", err)
	if code == ExitUsage {
		fmt.Fprintln(stderr, "Run 'pmsync --help' for usage.")
	}
	return code
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// newRootCmd builds the command tree.
func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "pmsync",
		Short: "Mirror postmortem action items between the platform's and customers' issue trackers",
		Long: `pmsync keeps postmortem action items in step between a platform's issue tracker
and each customer's tracker (Jira Cloud and Data Center, GitHub Issues, GitLab
Issues), keeps their status live both ways, and sends reminders and digests.

Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error,
3 store locked by another pmsync process.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionString(),
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(a.stderr)
			_ = cmd.Help()
			if len(args) > 0 {
				return usageErrorf("unknown command %q", args[0])
			}
			return usageErrorf("no command given")
		},
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.PersistentFlags().StringVar(&a.configPath, "config", "",
		"configuration file (default $"+configEnv+", else ./"+localConfigPath+", else "+systemConfigPath+")")
	for _, c := range subcommands(a) {
		root.AddCommand(c)
	}
	markStart(a, root)
	return root
}

// markStart wraps the run function of cmd and every command below it so
// that a.started tells run whether an error came from cobra's parsing
// (a usage error) or from a command that ran.
func markStart(a *app, cmd *cobra.Command) {
	if f := cmd.RunE; f != nil {
		cmd.RunE = func(c *cobra.Command, args []string) error {
			a.started = true
			return f(c, args)
		}
	}
	if f := cmd.Run; f != nil {
		cmd.Run = func(c *cobra.Command, args []string) {
			a.started = true
			f(c, args)
		}
	}
	for _, sub := range cmd.Commands() {
		markStart(a, sub)
	}
}

// configFile returns the configuration path: --config, then
// $PMSYNC_CONFIG, then ./pmsync.yaml when it exists, then
// /etc/pmsync/pmsync.yaml.
func (a *app) configFile() string {
	if a.configPath != "" {
		return a.configPath
	}
	if p := os.Getenv(configEnv); p != "" {
		return p
	}
	if _, err := os.Stat(localConfigPath); err == nil {
		return localConfigPath
	}
	return systemConfigPath
}

// loadConfig loads and validates the configuration. Its error makes the
// command exit with ExitUsage.
func (a *app) loadConfig() (*config.Config, error) {
	cfg, err := config.Load(a.configFile())
	if err != nil {
		return nil, configError(err)
	}
	return cfg, nil
}

// logger returns the slog logger the configuration asks for, writing to
// stderr.
func (a *app) logger(cfg *config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Log.SlogLevel()}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(a.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(a.stderr, opts))
}
