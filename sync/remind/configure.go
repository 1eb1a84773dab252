package remind

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/pmsync/pmsync/config"
)

// reminderSpec is when overdue items are looked for. The once-a-week
// limit per item holds whatever it is; daily means a newly overdue item is
// reminded within a day.
const reminderSpec = "CRON_TZ=UTC 0 9 * * *"

// SetupOptions are what Setup needs besides the configuration.
type SetupOptions struct {
	Clock   Clock // nil: SystemClock
	Logger  *slog.Logger
	Metrics MetricsHook
	// Commenter posts reminder comments; nil turns reminders off even when
	// reminders.overdue_comment is true (the CLI has no connectors).
	Commenter Commenter
	// HTTPClient is used for chat webhooks; nil: a 15 s timeout client.
	HTTPClient *http.Client
}

// PolicyFrom returns the reminder policy of the configuration.
func PolicyFrom(r config.Reminders) Policy {
	p := DefaultPolicy()
	if len(r.Critical) > 0 {
		p.Critical = r.Critical
	}
	if r.DueAfter != nil {
		p.DueAfter = r.DueAfter
	}
	if r.StaleAfter > 0 {
		p.StaleAfter = r.StaleAfter
	}
	return p
}

// BuilderFrom returns the digest and report builder of the configuration.
func BuilderFrom(cfg *config.Config, src Source) *Builder {
	b := &Builder{Source: src, Policy: PolicyFrom(cfg.Reminders), PlatformName: cfg.Platform.Name}
	for _, c := range cfg.Customers {
		b.Customers = append(b.Customers, Customer{ID: c.ID, Name: c.Name})
	}
	return b
}

// Setup builds the reminder service that cfg describes: one digest job per
// customer with a digest section, the platform digest, and (with a
// Commenter and reminders.overdue_comment) the reminder comments.
func Setup(cfg *config.Config, db Store, o SetupOptions) (*Service, error) {
	if o.Clock == nil {
		o.Clock = SystemClock()
	}
	var mailer *Mailer
	if cfg.SMTP != nil {
		var err error
		mailer, err = NewMailer(SMTPConfig{Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, From: cfg.SMTP.From, TLS: cfg.SMTP.TLS,
			User: cfg.SMTP.User.Value(), Password: cfg.SMTP.Password.Value()}, o.Clock.Now, o.Logger)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.File, err)
		}
	}
	var jobs []DigestJob
	for i, c := range cfg.Customers {
		if c.Digest == nil {
			continue
		}
		j, err := digestJob(c.ID, Audience{Customer: c.ID}, c.Digest, mailer, o.HTTPClient)
		if err != nil {
			return nil, fmt.Errorf("%s: customers[%d].digest: %w", cfg.File, i, err)
		}
		jobs = append(jobs, j)
	}
	if d := cfg.Reminders.PlatformDigest; d != nil {
		j, err := digestJob("platform", Audience{Platform: true}, d, mailer, o.HTTPClient)
		if err != nil {
			return nil, fmt.Errorf("%s: reminders.platform_digest: %w", cfg.File, err)
		}
		jobs = append(jobs, j)
	}
	opts := Options{Store: db, Builder: BuilderFrom(cfg, db), Jobs: jobs, Clock: o.Clock, Logger: o.Logger, Metrics: o.Metrics}
	if cfg.Reminders.OverdueComment && o.Commenter != nil {
		sched, err := ParseSchedule(reminderSpec)
		if err != nil {
			return nil, err
		}
		opts.Reminders = &Reminders{Commenter: o.Commenter, MarkerKey: []byte(cfg.Sync.MarkerKey.Value()), Schedule: sched}
	}
	return New(opts)
}

// digestJob turns one digest section into a job with its recipients:
// one e-mail per address (at most once) and the chat webhook (at least
// once).
func digestJob(id string, a Audience, d *config.Digest, mailer *Mailer, client *http.Client) (DigestJob, error) {
	loc := d.Schedule.Location
	if loc == nil {
		loc = time.Local
	}
	sched, err := ParseScheduleIn(d.Schedule.Spec, loc)
	if err != nil {
		return DigestJob{}, fmt.Errorf("schedule: %w", err)
	}
	j := DigestJob{ID: id, Audience: a, Schedule: sched}
	if len(d.Email) > 0 && mailer == nil {
		return DigestJob{}, fmt.Errorf("email: sending e-mail needs an smtp section")
	}
	for _, addr := range d.Email {
		dl, err := mailer.To(addr)
		if err != nil {
			return DigestJob{}, fmt.Errorf("email: %w", err)
		}
		j.Recipients = append(j.Recipients, Recipient{ID: "email:" + addr, Channel: "email", Guarantee: AtMostOnce, Deliverer: dl})
	}
	if url := d.ChatWebhook.Value(); url != "" {
		w, err := NewChatWebhook(url, client)
		if err != nil {
			return DigestJob{}, fmt.Errorf("chat_webhook (from %s): %w", d.ChatWebhook.Source(), err)
		}
		j.Recipients = append(j.Recipients, Recipient{ID: "chat", Channel: "chat", Guarantee: AtLeastOnce, Deliverer: w})
	}
	return j, nil
}
