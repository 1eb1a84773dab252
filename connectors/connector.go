// Package connectors defines the contract between pmsync's sync engine and the
// issue trackers it talks to: the canonical Item, the Connector interface that
// every tracker kind implements, typed errors that decide retries, and the
// registry that maps a tracker kind to its constructor.
//
// Lifecycle: a Connector is built once per configured tracker by its Factory,
// used concurrently by many workers, and closed with Close when the daemon
// stops. Connectors know nothing of the engine or the store.
package connectors

import (
	"context"
	"net/http"
	"time"
)

// Status is the canonical state of an action item.
type Status string

// The canonical statuses.
const (
	StatusOpen       Status = "open"
	StatusInProgress Status = "in_progress"
	StatusDone       Status = "done"
	StatusWontDo     Status = "wont_do"
)

// Closed reports whether s is a terminal status (done or wont_do).
func (s Status) Closed() bool { return s == StatusDone || s == StatusWontDo }

// Valid reports whether s is one of the canonical statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusOpen, StatusInProgress, StatusDone, StatusWontDo:
		return true
	}
	return false
}

// Priority is P0 (most urgent) to P4; the empty Priority means "not set".
type Priority string

// The canonical priorities.
const (
	P0 Priority = "P0"
	P1 Priority = "P1"
	P2 Priority = "P2"
	P3 Priority = "P3"
	P4 Priority = "P4"
)

// Priorities lists the canonical priorities from most to least urgent.
var Priorities = []Priority{P0, P1, P2, P3, P4}

// Valid reports whether p is empty or one of P0..P4.
func (p Priority) Valid() bool {
	switch p {
	case "", P0, P1, P2, P3, P4:
		return true
	}
	return false
}

// Kind is the SRE postmortem action-item type.
type Kind string

// The canonical kinds; the empty Kind means "not set".
const (
	KindPrevent     Kind = "prevent"
	KindMitigate    Kind = "mitigate"
	KindDetect      Kind = "detect"
	KindProcess     Kind = "process"
	KindInvestigate Kind = "investigate"
	KindOther       Kind = "other"
)

// Kinds lists the canonical kinds.
var Kinds = []Kind{KindPrevent, KindMitigate, KindDetect, KindProcess, KindInvestigate, KindOther}

// Valid reports whether k is empty or one of the canonical kinds.
func (k Kind) Valid() bool {
	if k == "" {
		return true
	}
	for _, v := range Kinds {
		if v == k {
			return true
		}
	}
	return false
}

// Owner says which side must do the work of an item.
type Owner string

// The two sides; the empty Owner means "not stated on the item" (the engine
// then takes the origin side).
const (
	OwnerPlatform Owner = "platform"
	OwnerCustomer Owner = "customer"
)

// Ref says where an item lives: a tracker id and the item's native key
// (PLAT-123, owner/repo#12, group/project#5).
type Ref struct {
	Tracker string `json:"tracker"`
	Key     string `json:"key"`
}

// String renders the ref as "tracker:key".
func (r Ref) String() string { return r.Tracker + ":" + r.Key }

// Item is a postmortem action item in canonical form.
//
// Description is the item's body as a person wrote it (Markdown), with any
// pmsync marker removed. The shared summary that crosses to the other side
// is extracted from it by the engine, never by a connector.
type Item struct {
	Ref         Ref      `json:"ref"`
	ID          string   `json:"id"`  // stable native id (Jira numeric id, GitHub/GitLab global id)
	URL         string   `json:"url"` // web page of the item for people
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Status      Status   `json:"status"`
	Priority    Priority `json:"priority,omitempty"`
	Kind        Kind     `json:"kind,omitempty"`
	Owner       Owner    `json:"owner,omitempty"`
	Assignee    string   `json:"assignee,omitempty"`
	Due         string   `json:"due,omitempty"` // YYYY-MM-DD or empty
	Incident    string   `json:"incident,omitempty"`
	Labels      []string `json:"labels,omitempty"` // labels not mapped to a canonical field
	Marker      string   `json:"marker,omitempty"` // pmsync marker id found on the item, if any
	// CommentCount is how many comments ListComments would return (system
	// notes excluded, restricted comments included), as the tracker states
	// it with the item; CommentsUnknown (-1) when the answer did not say.
	// The engine lists an item's comments only when this differs from the
	// count it saw last, or when told that comments changed.
	CommentCount int       `json:"comment_count"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// HasLabel reports whether the item carries label name (case-insensitive).
func (it *Item) HasLabel(name string) bool {
	for _, l := range it.Labels {
		if equalFold(l, name) {
			return true
		}
	}
	return false
}

// CommentsUnknown is Item.CommentCount when the tracker's answer did not
// give the number of comments.
const CommentsUnknown = -1

// Comment is one comment (GitLab: note) on an item.
type Comment struct {
	ID     string `json:"id"`
	Author string `json:"author"` // display name or login of the writer
	Body   string `json:"body"`   // Markdown, marker removed
	Marker string `json:"marker,omitempty"`
	// Restricted is true for comments that must never leave their tracker:
	// Jira comments with a visibility restriction, GitLab internal notes and
	// notes on confidential issues.
	Restricted bool      `json:"restricted,omitempty"`
	URL        string    `json:"url,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Patch lists the fields of one update; nil means "leave as it is". A
// connector applies all of them in as few writes as the API allows (one for
// GitHub and GitLab; one PUT plus the workflow transitions for Jira).
type Patch struct {
	Title       *string
	Description *string
	Status      *Status
	Priority    *Priority
	Kind        *Kind
	Owner       *Owner
	Assignee    *string
	Due         *string // "" clears the due date
	Incident    *string
}

// Empty reports whether the patch changes nothing.
func (p Patch) Empty() bool {
	return p.Title == nil && p.Description == nil && p.Status == nil && p.Priority == nil &&
		p.Kind == nil && p.Owner == nil && p.Assignee == nil && p.Due == nil && p.Incident == nil
}

// Changes is one page-complete answer to Connector.Changes.
type Changes struct {
	// Items updated at or after the cursor's time (minus the overlap),
	// oldest first. Items may repeat across calls: callers de-duplicate.
	Items []Item
	// Cursor to pass to the next call. It is an opaque string that the
	// engine persists; it survives restarts.
	Cursor string
	// Requests is how many HTTP requests this call made (for metrics and
	// the idle-cost benchmark).
	Requests int
}

// FindHint narrows a search by marker.
type FindHint struct {
	// CreatedAfter is a time before which the wanted item cannot have been
	// created (the intent's time minus clock skew). Zero means unknown.
	CreatedAfter time.Time
}

// WebhookEvent is what an authenticated webhook delivery says: which items
// may have changed. The engine re-reads them; it never trusts payload fields.
type WebhookEvent struct {
	DeliveryID string   // the tracker's delivery id, stable across redeliveries
	Event      string   // the tracker's event name, for logs and metrics
	Keys       []string // native keys of the items concerned; may be empty (ping)
}

// RateState is a connector's last known rate-limit budget.
type RateState struct {
	Limit     int       // requests per window, 0 when unknown
	Remaining int       // -1 when unknown
	Reset     time.Time // when the window resets, zero when unknown
	// BlockedUntil is set while the tracker has told us to wait (429, 403
	// secondary limit, Retry-After); no request should be sent before it.
	BlockedUntil time.Time
}

// Connector is one configured tracker. All methods are safe for concurrent
// use, honour ctx cancellation and deadlines, and return errors classified
// by the types in errors.go. No method retries writes on its own: retries
// belong to the engine, after a FindByMarker.
type Connector interface {
	// Kind returns the tracker kind ("github", "gitlab", "jira", "memory").
	Kind() string
	// Get reads one item by native key. A deleted or inaccessible item is
	// ErrNotFound (or ErrPermission).
	Get(ctx context.Context, key string) (*Item, error)
	// Changes lists items changed since cursor ("" = from the beginning),
	// following every page, and returns the cursor for the next call. When
	// nothing changed it costs at most one cheap request (GitHub: a 304).
	Changes(ctx context.Context, cursor string) (*Changes, error)
	// Create makes a new item carrying marker (hidden from people, stable
	// across edits of the visible fields) and returns it as stored.
	Create(ctx context.Context, marker string, it *Item) (*Item, error)
	// Update applies p to the item in as few writes as the API allows and
	// returns the item as stored afterwards. When the tracker's answer does
	// not give the item (Jira answers 204), the returned item is the last
	// read with p applied and its UpdatedAt is left as read: the engine
	// then knows that the item's next UpdatedAt is its own write. An
	// empty patch makes no request.
	Update(ctx context.Context, key string, p Patch) (*Item, error)
	// FindByMarker returns the item carrying marker, or ErrNotFound. It
	// must find an item created a moment ago: it may not rely on a search
	// index alone.
	FindByMarker(ctx context.Context, marker string, hint FindHint) (*Item, error)
	// ListComments returns the item's comments, oldest first, without
	// system notes.
	ListComments(ctx context.Context, key string) ([]Comment, error)
	// AddComment adds a comment carrying marker ("" for none).
	AddComment(ctx context.Context, key, marker, body string) (*Comment, error)
	// EditComment replaces the body of a comment, keeping its marker.
	EditComment(ctx context.Context, key, commentID, body string) (*Comment, error)
	// ParseWebhook authenticates a delivery (signature or token, compared in
	// constant time) over the raw body and says what it concerns. An
	// unauthenticated delivery is ErrUnauthenticated; a malformed one is
	// ErrInvalid. body is already size-limited by the caller.
	ParseWebhook(r *http.Request, body []byte) (*WebhookEvent, error)
	// RateLimit reports the last known rate-limit state.
	RateLimit() RateState
	// Close releases idle connections.
	Close() error
}

// SetStatus changes only the status of an item.
func SetStatus(ctx context.Context, c Connector, key string, s Status) (*Item, error) {
	return c.Update(ctx, key, Patch{Status: &s})
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
