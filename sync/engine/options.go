package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/store"
)

// PlatformID is the tracker id of the platform's tracker.
const PlatformID = "platform"

// Defaults of Options.
const (
	DefaultWorkers = 8
	// ReconcilesPerWorker is how many reconciles per customer run for
	// each request slot of Options.Workers.
	ReconcilesPerWorker      = 4
	DefaultPollInterval      = 2 * time.Minute
	DefaultResyncInterval    = 24 * time.Hour
	DefaultCreateSettle      = 2 * time.Minute
	DefaultDeliveryTTL       = 7 * 24 * time.Hour
	DefaultMaxAttempts       = 5
	DefaultRequestsPerSecond = 10
	// MaxWebhookBody is the largest webhook body accepted (1 MiB).
	MaxWebhookBody = 1 << 20
)

// Tracker is one configured tracker as the engine sees it.
type Tracker struct {
	// ID is PlatformID for the platform's tracker, else the customer id.
	ID string
	// Name is the organisation's name, used in attributions ("Example
	// Cloud", "JaneCorp").
	Name string
	// Conn is the connector. The engine wraps it with its rate-limit gate;
	// it does not close it.
	Conn connectors.Connector
	// ActionItemLabel marks the platform items pmsync considers (platform
	// tracker only; default "postmortem-action").
	ActionItemLabel string
	// PollInterval is the time between incremental polls; default
	// DefaultPollInterval. Negative turns polling off (webhooks only).
	PollInterval time.Duration
	// RequestsPerSecond is the token-bucket rate for this tracker's
	// credential; default DefaultRequestsPerSecond. Negative means no limit.
	RequestsPerSecond float64
	// Workers bounds the requests in flight to this tracker; 0 means
	// Options.Workers.
	Workers int
	// InternalURLs are address prefixes of the platform's internal systems
	// (platform tracker only): text crossing to customers is cleaned of
	// them. The platform tracker's own site belongs here.
	InternalURLs []string
	// KeyPattern matches the platform's item keys (platform tracker only),
	// removed from text crossing to customers; see KeyPattern.
	KeyPattern *regexp.Regexp
}

// Share says what crosses between the platform and one customer.
type Share struct {
	// SelectLabel picks the platform items shared with the customer;
	// default "customer:<id>".
	SelectLabel string
	// InboundLabel picks the customer items mirrored to the platform;
	// default "share-with-platform".
	InboundLabel string
	// Description is how much of a platform description crosses; default
	// DescriptionSummary.
	Description DescriptionMode
	// CommentPrefix marks platform comments that cross; "" means none do.
	CommentPrefix string
}

// Customer is one tenant and its tracker.
type Customer struct {
	ID      string
	Name    string
	Tracker Tracker // Tracker.ID is set to ID
	Share   Share
}

// Clock is the engine's time source. Tests inject one they can move.
type Clock interface {
	Now() time.Time
	// After sends on the returned channel once d has passed.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// nowClock is a Clock from a Now function, with real timers.
type nowClock func() time.Time

func (f nowClock) Now() time.Time                       { return f() }
func (nowClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Metrics receives the engine's measurements; every method must be cheap and
// safe for concurrent use. The zero value of Options uses none.
type Metrics interface {
	// Write counts one write request made to tracker (action: create,
	// update, comment, edit_comment).
	Write(tracker, action string)
	// Conflict counts one conflict resolved for customer on field.
	Conflict(customer string, field Field)
	// Reconciled reports one reconcile of a link of customer.
	Reconciled(customer string, took time.Duration, err error)
	// Polled reports one poll of tracker.
	Polled(tracker string, requests int, err error)
}

// Options configure an Engine.
type Options struct {
	Store     *store.DB
	Platform  Tracker // Platform.ID is set to PlatformID
	Customers []Customer
	// MarkerKey is the HMAC key of marker ids. Changing it makes existing
	// mirrors unrecognisable: keep it for the life of the deployment.
	MarkerKey []byte
	// Workers bounds the requests in flight per tracker (unless the
	// tracker sets its own); default DefaultWorkers. Each customer runs
	// ReconcilesPerWorker × Workers reconciles at a time: a reconcile
	// sends its requests one after another and spends time in the store
	// between them, so it takes more reconciles than request slots to
	// keep a tracker's slots busy.
	Workers int
	// Critical lists the priorities counted as critical in Status; default
	// P0 and P1.
	Critical []connectors.Priority
	// CreateSettle is how long after a create whose answer was lost a look
	// that does not find the mirror is not taken as proof that the create
	// failed: the tracker may still be working on it (a daemon restarted
	// at once after a crash looks within milliseconds). Default
	// DefaultCreateSettle; negative means none.
	CreateSettle time.Duration
	// ResyncInterval is how often Run re-reads every link (catching
	// deletions that no poll reports); default DefaultResyncInterval,
	// negative turns it off.
	ResyncInterval time.Duration
	// DeliveryTTL is how long webhook delivery ids are remembered; default
	// DefaultDeliveryTTL.
	DeliveryTTL time.Duration
	// MaxAttempts bounds the attempts of one item in SyncOnce; default
	// DefaultMaxAttempts. Run retries without bound.
	MaxAttempts int
	Logger      *slog.Logger
	// Now is the clock; nil means time.Now. Clock, when set, wins.
	Now   func() time.Time
	Clock Clock
	// Metrics is optional.
	Metrics Metrics
}

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// normalize validates o and fills defaults. It returns a copy.
func (o Options) normalize() (Options, error) {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if o.Store == nil {
		bad("engine: options: Store is nil")
	}
	o.Platform.ID = PlatformID
	if o.Platform.Conn == nil {
		bad("engine: options: Platform.Conn is nil")
	}
	if o.Platform.Name == "" {
		o.Platform.Name = "the platform"
	}
	if o.Platform.ActionItemLabel == "" {
		o.Platform.ActionItemLabel = "postmortem-action"
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if len(o.Critical) == 0 {
		o.Critical = []connectors.Priority{connectors.P0, connectors.P1}
	}
	if o.CreateSettle == 0 {
		o.CreateSettle = DefaultCreateSettle
	}
	if o.ResyncInterval == 0 {
		o.ResyncInterval = DefaultResyncInterval
	}
	if o.DeliveryTTL <= 0 {
		o.DeliveryTTL = DefaultDeliveryTTL
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		if o.Now != nil {
			o.Clock = nowClock(o.Now)
		} else {
			o.Clock = realClock{}
		}
	}
	o.Platform = trackerDefaults(o.Platform)
	seen := map[string]bool{PlatformID: true}
	customers := make([]Customer, len(o.Customers))
	for i, c := range o.Customers {
		path := fmt.Sprintf("engine: options: Customers[%d]", i)
		switch {
		case !idRE.MatchString(c.ID):
			bad("%s: id %q is not [a-z0-9-]+ (at most 63 characters)", path, c.ID)
		case seen[c.ID]:
			bad("%s: id %q is used twice (or is %q)", path, c.ID, PlatformID)
		}
		seen[c.ID] = true
		if c.Tracker.Conn == nil {
			bad("%s (%s): Tracker.Conn is nil", path, c.ID)
		}
		if c.Name == "" {
			c.Name = c.ID
		}
		c.Tracker.ID = c.ID
		if c.Tracker.Name == "" {
			c.Tracker.Name = c.Name
		}
		c.Tracker = trackerDefaults(c.Tracker)
		if c.Share.SelectLabel == "" {
			c.Share.SelectLabel = "customer:" + c.ID
		}
		if c.Share.InboundLabel == "" {
			c.Share.InboundLabel = "share-with-platform"
		}
		if c.Share.Description == "" {
			c.Share.Description = DescriptionSummary
		}
		if !c.Share.Description.Valid() {
			bad("%s (%s): Share.Description %q is not none, summary or full", path, c.ID, c.Share.Description)
		}
		customers[i] = c
	}
	o.Customers = customers
	if len(errs) > 0 {
		return o, errors.Join(errs...)
	}
	return o, nil
}

func trackerDefaults(t Tracker) Tracker {
	if t.PollInterval == 0 {
		t.PollInterval = DefaultPollInterval
	}
	if t.RequestsPerSecond == 0 {
		t.RequestsPerSecond = DefaultRequestsPerSecond
	}
	return t
}
