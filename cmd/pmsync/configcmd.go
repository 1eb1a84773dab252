package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pmsync/pmsync/config"
	"github.com/pmsync/pmsync/connectors"
)

func newConfigCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Inspect the configuration",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(a.stderr)
			_ = cmd.Help()
			return usageErrorf("config needs a subcommand, e.g. 'pmsync config check'")
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "check",
		Short: "Load and validate the configuration and print a summary (never a secret)",
		Long: `Load the configuration, apply defaults, validate every key, read every secret
from its environment variable or file, and print a short summary. Secrets are
never printed; only where they come from.

Exits 0 when the configuration is valid and 2 when it is not, listing every
problem with its line and key path.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			return writeSummary(a.stdout, cfg)
		},
	})
	return cmd
}

// writeSummary prints what the configuration says, for a person checking
// it: trackers, customers, schedules. It prints where secrets come from,
// never their values.
func writeSummary(w io.Writer, cfg *config.Config) error {
	s := &summary{}
	s.line("%s: configuration is valid", cfg.File)
	s.line("store      %s (audit kept %s)", cfg.Store.Path, config.FormatDuration(cfg.Store.AuditRetention))
	listen := cfg.HTTP.Listen
	if cfg.HTTP.Token.IsSet() {
		listen += ", bearer token from " + cfg.HTTP.Token.Source()
	}
	s.line("http       %s", listen)
	s.line("sync       poll every %s with %s overlap; webhook deliveries remembered %s",
		config.FormatDuration(cfg.Sync.PollInterval), config.FormatDuration(cfg.Sync.PollOverlap),
		config.FormatDuration(cfg.Webhooks.DeliveryTTL))
	s.line("log        %s, %s", cfg.Log.Level, cfg.Log.Format)
	s.line("platform   %s", cfg.Platform.Name)
	s.tracker("           ", &cfg.Platform.Tracker)
	s.line("           considers items labelled %q", cfg.Platform.ActionItemLabel)
	s.line("customers  %d", len(cfg.Customers))
	for i := range cfg.Customers {
		cu := &cfg.Customers[i]
		s.line("  %s (%s)", cu.ID, cu.Name)
		s.tracker("    ", &cu.Tracker)
		s.line("    shares platform items labelled %q (description: %s, comments prefixed %q); items labelled %q come back",
			cu.Share.SelectLabel, cu.Share.Description, cu.Share.CommentPrefix, cu.Share.InboundLabel)
		if cu.Digest != nil {
			s.line("    digest %s", digestLine(cu.Digest))
		}
	}
	r := &cfg.Reminders
	s.line("reminders  critical %s; due after %s; stale after %s; overdue comments %s",
		joinPriorities(r.Critical), dueAfter(r.DueAfter), config.FormatDuration(r.StaleAfter), onOff(r.OverdueComment))
	if r.PlatformDigest != nil {
		s.line("           platform digest %s", digestLine(r.PlatformDigest))
	}
	if m := cfg.SMTP; m != nil {
		auth := "no auth"
		if m.User.IsSet() {
			auth = "auth user from " + m.User.Source() + ", password from " + m.Password.Source()
		}
		s.line("smtp       %s:%d (%s) from %s, %s", m.Host, m.Port, m.TLS, m.From, auth)
	}
	_, err := io.WriteString(w, s.b.String())
	return err
}

type summary struct{ b strings.Builder }

func (s *summary) line(format string, args ...any) {
	fmt.Fprintf(&s.b, format, args...)
	s.b.WriteByte('\n')
}

func (s *summary) tracker(indent string, t *config.Tracker) {
	kind := t.Kind
	if t.Flavor != "" {
		kind += " " + t.Flavor
	}
	url := t.URL
	if url == "" {
		url = map[string]string{"github": "https://api.github.com/", "gitlab": "https://gitlab.com"}[t.Kind]
	}
	s.line("%stracker %s: %s %s at %s", indent, t.ID, kind, t.Project, url)
	creds := "token from " + t.Auth.Token.Source()
	if t.Auth.User.IsSet() {
		creds += ", user from " + t.Auth.User.Source()
	}
	if t.WebhookSecret.IsSet() {
		creds += ", webhook secret from " + t.WebhookSecret.Source()
	} else {
		creds += ", no webhook secret (webhooks refused; polling only)"
	}
	s.line("%s  %s; %d workers, %g requests/s", indent, creds, t.Workers, t.RequestsPerSecond)
}

func digestLine(d *config.Digest) string {
	var to []string
	if n := len(d.Email); n == 1 {
		to = append(to, "1 e-mail recipient")
	} else if n > 1 {
		to = append(to, fmt.Sprintf("%d e-mail recipients", n))
	}
	if d.ChatWebhook.IsSet() {
		to = append(to, "chat webhook from "+d.ChatWebhook.Source())
	}
	return fmt.Sprintf("%q (%s) to %s", d.Schedule.Spec, d.Schedule.Location, strings.Join(to, " and "))
}

func joinPriorities(ps []connectors.Priority) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return strings.Join(out, ", ")
}

func dueAfter(m map[connectors.Priority]time.Duration) string {
	var out []string
	for _, p := range connectors.Priorities {
		if d, ok := m[p]; ok {
			out = append(out, string(p)+" "+config.FormatDuration(d))
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return "never"
	}
	return strings.Join(out, ", ")
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
