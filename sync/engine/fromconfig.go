package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pmsync/pmsync/config"
	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/store"
)

// ConfigOptions are what FromConfigWith takes besides the configuration.
type ConfigOptions struct {
	Logger *slog.Logger
	// HTTPClient, when set, gives the client of each tracker's connector
	// (tests and the demo put simulators behind it).
	HTTPClient func(trackerID string) *http.Client
	// Now is the clock of the engine and the connectors; nil means time.Now.
	Now     func() time.Time
	Metrics Metrics
}

// FromConfig builds an engine from a validated configuration: one connector
// per tracker through the registry (the caller imports connectors/all), the
// sharing rules of each customer, and the sync settings. Close the engine
// to close the connectors.
func FromConfig(cfg *config.Config, st *store.DB, logger *slog.Logger) (*Engine, error) {
	return FromConfigWith(cfg, st, ConfigOptions{Logger: logger})
}

// FromConfigWith is FromConfig with test and demo hooks.
func FromConfigWith(cfg *config.Config, st *store.DB, co ConfigOptions) (*Engine, error) {
	if cfg == nil {
		return nil, errors.New("engine: from config: configuration is nil")
	}
	var conns []connectors.Connector
	closeAll := func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}
	build := func(id string) (connectors.Connector, error) {
		cc, err := cfg.Connector(id)
		if err != nil {
			return nil, err
		}
		cc.Logger, cc.Now = co.Logger, co.Now
		if co.HTTPClient != nil {
			cc.HTTPClient = co.HTTPClient(id)
		}
		c, err := connectors.New(cc)
		if err != nil {
			return nil, fmt.Errorf("engine: tracker %s: %w", id, err)
		}
		conns = append(conns, c)
		return c, nil
	}
	pc, err := build(config.PlatformID)
	if err != nil {
		return nil, err
	}
	pt := cfg.Platform.Tracker
	o := Options{
		Store: st,
		Platform: Tracker{
			Name: cfg.Platform.Name, Conn: pc, ActionItemLabel: cfg.Platform.ActionItemLabel,
			PollInterval: cfg.Sync.PollInterval, RequestsPerSecond: pt.RequestsPerSecond, Workers: pt.Workers,
			InternalURLs: InternalURLs(pt.Kind, pt.URL, pt.Project), KeyPattern: KeyPattern(pt.Kind, pt.Project),
		},
		MarkerKey:    []byte(cfg.Sync.MarkerKey.Value()),
		Workers:      cfg.Sync.WorkersPerTracker,
		Critical:     cfg.Reminders.Critical,
		DeliveryTTL:  cfg.Webhooks.DeliveryTTL,
		CreateSettle: settleOf(cfg.Sync.CreateSettle),
		Logger:       co.Logger,
		Now:          co.Now,
		Metrics:      co.Metrics,
	}
	for _, cu := range cfg.Customers {
		c, err := build(cu.ID)
		if err != nil {
			closeAll()
			return nil, err
		}
		o.Customers = append(o.Customers, Customer{
			ID: cu.ID, Name: cu.Name,
			Tracker: Tracker{Conn: c, PollInterval: cfg.Sync.PollInterval,
				RequestsPerSecond: cu.Tracker.RequestsPerSecond, Workers: cu.Tracker.Workers},
			Share: Share{SelectLabel: cu.Share.SelectLabel, InboundLabel: cu.Share.InboundLabel,
				Description: DescriptionMode(cu.Share.Description), CommentPrefix: cu.Share.CommentPrefix},
		})
	}
	e, err := New(o)
	if err != nil {
		closeAll()
		return nil, err
	}
	e.owned = conns
	return e, nil
}

// Close closes the connectors FromConfig built (none for New).
func (e *Engine) Close() error {
	var errs []error
	for _, c := range e.owned {
		errs = append(errs, c.Close())
	}
	e.owned = nil
	return errors.Join(errs...)
}

// InternalURLs returns the address prefixes of a platform tracker's web
// pages, to keep out of text that crosses to customers: the whole Jira
// site; the repository on GitHub (github.com or an Enterprise host); the
// project on GitLab.
func InternalURLs(kind, baseURL, project string) []string {
	host := ""
	if u, err := url.Parse(baseURL); err == nil && u.Host != "" {
		host = u.Host
	}
	switch kind {
	case "jira":
		if host == "" {
			return nil
		}
		return []string{host}
	case "github":
		if host == "" || host == "api.github.com" {
			host = "github.com"
		}
		return []string{host + "/" + strings.Trim(project, "/")}
	case "gitlab":
		if host == "" {
			host = "gitlab.com"
		}
		return []string{host + "/" + strings.Trim(project, "/")}
	}
	return nil
}

// settleOf maps sync.create_settle to Options.CreateSettle, where 0 means
// the default: a configured 0s means none.
func settleOf(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
