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

// The interfaces below extend Harness and Backend without changing them.
// Run checks for them with a type assertion. Reconnector and RawWebhooker
// are required: Run reports a failure naming the one a harness lacks.
// Capable and LatencyBackend are optional.

// Reconnector is a Harness that can build a second connector on the
// simulator behind an earlier Make, with the same configuration, as the
// daemon does after a restart. The suite uses it to prove that a Changes
// cursor survives a restart. b is the Backend returned by Make.
type Reconnector interface {
	Reconnect(t *testing.T, b Backend, trackerID string) connectors.Connector
}

// RawWebhooker is a Harness that can sign (or token-authenticate) any body
// as a valid delivery would be, so the suite can send an authenticated but
// malformed delivery and expect ErrInvalid.
type RawWebhooker interface {
	RawWebhook(t *testing.T, body []byte) *http.Request
}

// Capabilities tells the suite what the tracker under test can and cannot
// do. The zero value runs every test except assignee round trips.
type Capabilities struct {
	// Assignees are at least two distinct values that Create and Update
	// accept as Item.Assignee and Get returns unchanged (logins, account
	// ids). With fewer than two the assignee field is not tested.
	Assignees []string
	// NoRestrictedComments says the tracker has no restricted comments
	// (GitHub): Backend.AddComment with restricted true is then not tested.
	NoRestrictedComments bool
	// PageSize is the simulator's page size for item and comment listings
	// as the harness configures it. The pagination tests create 2×PageSize+3
	// items (120 when zero) and require at least that many pages.
	PageSize int
	// DefaultPriority is the priority the tracker gives an item created or
	// updated without one (Jira's default priority scheme). Empty means
	// the tracker can leave the priority unset, and the suite expects ""
	// back.
	DefaultPriority connectors.Priority
	// LossyMarkdown says the tracker stores descriptions in another markup
	// (Jira wiki) so rich Markdown may not come back byte for byte. The
	// suite then still requires plain and unicode text to round trip
	// exactly, and rich Markdown to be stable: writing back what was read
	// reads back the same text.
	LossyMarkdown bool
}

// Capable is a Harness that states its Capabilities.
type Capable interface {
	Capabilities() Capabilities
}

// LatencyBackend is a Backend that can delay every answer by d (0 turns
// latency off), honouring the request's context, so that the suite can
// cancel a request in flight.
type LatencyBackend interface {
	SetLatency(d time.Duration)
}
