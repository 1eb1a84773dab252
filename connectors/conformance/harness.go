// Package conformance is the behaviour suite that every connector passes
// against its simulator: the same tests for memory, GitHub, GitLab, Jira
// Cloud and Jira Data Center. A connector plugs in by implementing Harness
// (a few lines around its simulator) and calling Run from a _test.go file.
package conformance

import (
	"net/http"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
)

// Op names a class of API request for fault injection.
type Op string

// The request classes a Backend can fail.
const (
	OpAny     Op = "*"
	OpGet     Op = "get"     // read one item
	OpList    Op = "list"    // list / search items
	OpCreate  Op = "create"  // create an item
	OpUpdate  Op = "update"  // edit fields, labels, transitions
	OpComment Op = "comment" // list, add or edit comments
)

// Fault makes the simulator misbehave on the next matching requests.
type Fault struct {
	Op     Op
	Status int         // HTTP status to answer; 0 with AfterCommit means the connection is cut
	Header http.Header // extra headers, e.g. Retry-After
	Times  int         // how many matching requests fail; 0 means 1
	// AfterCommit carries the request out (the write is committed) and
	// then answers Status instead of the real response: a lost response.
	AfterCommit bool
}

// Backend is the simulator behind a connector, driven directly as a person
// (or an outage) would, without going through the connector.
type Backend interface {
	// Inject queues a fault.
	Inject(f Fault)
	// Delete removes an item as a person with admin rights would.
	Delete(key string) error
	// EditTitle changes an item's title as a person would.
	EditTitle(key, title string) error
	// AddComment adds a comment as a person would; restricted makes it a
	// comment that must never cross (Jira visibility restriction, GitLab
	// internal note).
	AddComment(key, author, body string, restricted bool) error
	// AddSystemNote adds a tracker-generated note (GitLab system note);
	// trackers without such notes do nothing. It must never be a Comment.
	AddSystemNote(key, body string) error
	// Count returns how many items exist (for duplicate checks).
	Count() int
	// Requests returns how many API requests the simulator has answered.
	Requests() int
	// Writes returns how many write requests (POST, PUT, PATCH, DELETE) it
	// has answered.
	Writes() int
	// Advance moves the simulator's clock (and so the connector's, which
	// the harness wires to it) forward.
	Advance(d time.Duration)
}

// Harness builds connectors wired to fresh simulators.
type Harness interface {
	// Name is the connector kind under test ("github", "jira-cloud", ...).
	Name() string
	// Make returns a connector for a fresh, empty tracker with the given
	// tracker id, and its backend. The connector's token is Secret, and
	// cfg.Now is wired to the backend's clock.
	Make(t *testing.T, trackerID string) (connectors.Connector, Backend)
	// Webhook builds a delivery for the item key, as the tracker would send
	// it (event: an item edit). With valid false the signature or token is
	// wrong. deliveryID is the tracker's delivery id.
	Webhook(t *testing.T, key, deliveryID string, valid bool) *http.Request
}

// Secret is the token every harness gives its connector; the suite checks
// it never appears in an error text.
const Secret = "pmsync-canary-token-7f1e9b2c"

// WebhookSecret is the webhook secret every harness configures.
const WebhookSecret = "pmsync-canary-hook-secret-55aa"
