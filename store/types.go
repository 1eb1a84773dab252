package store

import (
	"time"

	"github.com/pmsync/pmsync/connectors"
)

// Side is one side of a link: the item in one tracker, and the field values
// pmsync last saw or wrote there (the base of the three-way merge).
type Side struct {
	Ref       connectors.Ref `json:"ref"`
	ID        string         `json:"id,omitempty"`  // stable native id (connectors.Item.ID)
	URL       string         `json:"url,omitempty"` // web page of the item
	Base      Fields         `json:"base"`
	UpdatedAt time.Time      `json:"updated_at,omitzero"` // the item's UpdatedAt when Base was taken
	CreatedAt time.Time      `json:"created_at,omitzero"` // when the item was created in its tracker
	ClosedAt  time.Time      `json:"closed_at,omitzero"`  // when pmsync first saw the item closed; zero while open
	// Comments is the item's comment count when its comments were last
	// mirrored (connectors.Item.CommentCount): while the item states the
	// same count, its comments need not be listed again.
	Comments int `json:"comments,omitempty"`
}

// Fields are the synced field values of one side, as last seen or written.
type Fields struct {
	Title    string              `json:"title,omitempty"`
	Summary  string              `json:"summary,omitempty"`
	Status   connectors.Status   `json:"status,omitempty"`
	Priority connectors.Priority `json:"priority,omitempty"`
	Kind     connectors.Kind     `json:"kind,omitempty"`
	Owner    connectors.Owner    `json:"owner,omitempty"`
	Assignee string              `json:"assignee,omitempty"`
	Due      string              `json:"due,omitempty"`
	Incident string              `json:"incident,omitempty"`
}

// CommentLink pairs a comment with its mirror on the other side of a link.
type CommentLink struct {
	Source   string `json:"source"`         // "platform" or "customer": where the comment was written
	SourceID string `json:"source_id"`      // comment id on the source side
	MirrorID string `json:"mirror_id"`      // comment id of the mirror on the other side
	Hash     string `json:"hash,omitempty"` // hash of the content last written to the mirror
}

// LinkState says whether a link is being kept in step.
type LinkState string

// The link states.
const (
	// LinkActive links are kept in step both ways.
	LinkActive LinkState = "active"
	// LinkUnshared links no longer match their customer's selector; the
	// mirror was commented on and closed.
	LinkUnshared LinkState = "unshared"
	// LinkBroken links have a side that was deleted or became inaccessible;
	// BrokenReason says which and why. Nothing is recreated.
	LinkBroken LinkState = "broken"
)

// Valid reports whether s is one of the link states.
func (s LinkState) Valid() bool {
	return s == LinkActive || s == LinkUnshared || s == LinkBroken
}

// Link pairs a platform item with its mirror in one customer's tracker, or a
// customer item with its mirror in the platform's tracker.
type Link struct {
	ID           string           `json:"id"` // the marker id carried by the mirror
	Customer     string           `json:"customer"`
	Origin       connectors.Owner `json:"origin"` // side where the item was first written
	Owner        connectors.Owner `json:"owner"`  // side that must do the work
	State        LinkState        `json:"state"`
	BrokenReason string           `json:"broken_reason,omitempty"`
	Platform     Side             `json:"platform"`
	Remote       Side             `json:"remote"` // the customer's side
	Comments     []CommentLink    `json:"comments,omitempty"`
	CreatedAt    time.Time        `json:"created_at"`
	UpdatedAt    time.Time        `json:"updated_at"`
	// Conflicts counts the conflicts resolved on this link; LastConflictAt
	// is when the latest one was. LastError is the last sync error (no
	// secret or item text), "" after a clean reconcile.
	Conflicts      int       `json:"conflicts,omitempty"`
	LastConflictAt time.Time `json:"last_conflict_at,omitzero"`
	LastError      string    `json:"last_error,omitempty"`
}

// Intent is a durable note that pmsync is about to create a mirror (of an item
// or a comment) carrying marker ID in tracker Target. It is written before the
// remote create and dropped, together with recording the link, after it.
type Intent struct {
	ID        string         `json:"id"` // marker id of the mirror to be created
	Customer  string         `json:"customer"`
	Origin    connectors.Ref `json:"origin"` // the item being mirrored
	Target    string         `json:"target"` // tracker id the mirror is created in
	CreatedAt time.Time      `json:"created_at"`
	Attempts  int            `json:"attempts"`
	// SentAt is when the latest create for the intent was sent: until
	// the engine's create settle time has passed since, a look that does
	// not find the mirror is not proof that the create failed (the
	// tracker may still be working on it).
	SentAt time.Time `json:"sent_at,omitzero"`
}

// AuditEvent is one entry of the append-only audit log: a write pmsync made,
// a conflict it resolved, or a state change of a link. Detail never holds
// redacted text; Fields names the fields concerned, not their values.
type AuditEvent struct {
	Seq      uint64    `json:"seq"` // assigned by Audit, increasing across the whole store
	Time     time.Time `json:"time"`
	Customer string    `json:"customer,omitempty"` // "" for platform-wide events
	Link     string    `json:"link,omitempty"`
	Tracker  string    `json:"tracker,omitempty"`
	Action   string    `json:"action"`
	Fields   []string  `json:"fields,omitempty"`
	Detail   string    `json:"detail,omitempty"`
}

// SendState is the delivery state of one digest, reminder or report.
type SendState string

// The send states.
const (
	// SendPending is recorded before delivery starts. A record still
	// pending after a crash means the delivery may or may not have happened.
	SendPending SendState = "pending"
	// SendSent is recorded after a successful delivery.
	SendSent SendState = "sent"
	// SendFailed is recorded after a failed delivery; BeginSend may retry it.
	SendFailed SendState = "failed"
)

// SendRecord is the delivery record of one (schedule, period, recipient) key.
type SendRecord struct {
	Key       string    `json:"key"`
	State     SendState `json:"state"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
	Customer  string    `json:"customer,omitempty"` // "" for platform-team sends
}

// Stats are the counts of records in the store and the size of its file.
type Stats struct {
	FileSize    int64 // bytes of the file on disk
	DataSize    int64 // bytes in use by bbolt (high-water mark of its pages)
	Schema      int   // schema version of the file
	Customers   int
	Links       int
	Refs        int // ref index entries
	Summaries   int // link summaries (one per link)
	Intents     int
	Watermarks  int
	Deliveries  int
	AuditEvents int
	Sends       int
	States      int
}
