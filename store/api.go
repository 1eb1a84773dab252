package store

import (
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/pmsync/pmsync/connectors"
	bolt "go.etcd.io/bbolt"
)

// SchemaVersion is the layout version this package reads and writes.
const SchemaVersion = 2

// Sentinel errors; test with errors.Is.
var (
	ErrNotFound = errors.New("store: not found")
	ErrLocked   = errors.New("store: file is locked by another process")
	ErrNoSpace  = errors.New("store: no space left (MaxSize reached)")
	ErrConflict = errors.New("store: conflicting record")
)

// Options configure Open.
type Options struct {
	Timeout time.Duration // how long to wait for the file lock; default 1s
	MaxSize int64         // 0 = unlimited; else writes that would grow the file beyond it fail with ErrNoSpace
	NoSync  bool          // skip fsync; unsafe, for tests and benchmarks only
	Now     func() time.Time
	Logger  *slog.Logger
}

// DB is an open pmsync store.
type DB struct {
	bolt *bolt.DB
	path string
	now  func() time.Time
	log  *slog.Logger
}

var errUnbuilt = errors.New("store: not built yet")

// Open opens or creates the store at path.
func Open(path string, o Options) (*DB, error) { return nil, errUnbuilt }

// Close closes the store.
func (db *DB) Close() error { return errUnbuilt }

// SetMaxSize changes the size limit of an open store (0 = unlimited).
func (db *DB) SetMaxSize(n int64) {}

// PutLink records l, replacing any link with the same customer and id.
func (db *DB) PutLink(l *Link) error { return errUnbuilt }

// Link returns the link id of customer.
func (db *DB) Link(customer, id string) (*Link, error) { return nil, errUnbuilt }

// LinksByRef returns every link, across customers, with ref on either side.
func (db *DB) LinksByRef(ref connectors.Ref) ([]*Link, error) { return nil, errUnbuilt }

// Links returns every link of customer.
func (db *DB) Links(customer string) ([]*Link, error) { return nil, errUnbuilt }

// Customers lists the customers with data in the store.
func (db *DB) Customers() ([]string, error) { return nil, errUnbuilt }

// DeleteLink removes a link and its index entries.
func (db *DB) DeleteLink(customer, id string) error { return errUnbuilt }

// PutIntent records an intent.
func (db *DB) PutIntent(in *Intent) error { return errUnbuilt }

// Intents lists all open intents.
func (db *DB) Intents() ([]*Intent, error) { return nil, errUnbuilt }

// Intent returns one intent.
func (db *DB) Intent(id string) (*Intent, error) { return nil, errUnbuilt }

// CompleteIntent records l and drops the intent in one transaction.
func (db *DB) CompleteIntent(intentID string, l *Link) error { return errUnbuilt }

// DropIntent removes an intent.
func (db *DB) DropIntent(id string) error { return errUnbuilt }

// Watermark returns the cursor of tracker, "" when none.
func (db *DB) Watermark(tracker string) (string, error) { return "", errUnbuilt }

// SetWatermark stores the cursor of tracker.
func (db *DB) SetWatermark(tracker, cursor string) error { return errUnbuilt }

// RecordDelivery records a webhook delivery id; fresh is false for a repeat.
func (db *DB) RecordDelivery(tracker, deliveryID string, ttl time.Duration) (fresh bool, err error) {
	return false, errUnbuilt
}

// PruneDeliveries removes expired delivery records.
func (db *DB) PruneDeliveries() (int, error) { return 0, errUnbuilt }

// Audit appends an event to the audit log.
func (db *DB) Audit(e AuditEvent) error { return errUnbuilt }

// AuditLog returns events of customer ("" = platform-wide events).
func (db *DB) AuditLog(customer string, since time.Time, limit int) ([]AuditEvent, error) {
	return nil, errUnbuilt
}

// AuditLogAll returns events of every customer and the platform.
func (db *DB) AuditLogAll(since time.Time, limit int) ([]AuditEvent, error) { return nil, errUnbuilt }

// PruneAudit removes events older than before.
func (db *DB) PruneAudit(before time.Time) (int, error) { return 0, errUnbuilt }

// BeginSend creates a pending send record unless one exists.
func (db *DB) BeginSend(key, customer string) (rec *SendRecord, started bool, err error) {
	return nil, false, errUnbuilt
}

// FinishSend records the outcome of a send.
func (db *DB) FinishSend(key string, state SendState, errText string) error { return errUnbuilt }

// Send returns one send record.
func (db *DB) Send(key string) (*SendRecord, error) { return nil, errUnbuilt }

// Sends lists the send records of customer ("" = platform-team sends).
func (db *DB) Sends(customer string) ([]*SendRecord, error) { return nil, errUnbuilt }

// GetState returns a component's state blob, ErrNotFound when none.
func (db *DB) GetState(name string) ([]byte, error) { return nil, errUnbuilt }

// PutState stores a component's state blob.
func (db *DB) PutState(name string, v []byte) error { return errUnbuilt }

// Backup writes a consistent copy of the store to w.
func (db *DB) Backup(w io.Writer) (int64, error) { return 0, errUnbuilt }

// Check verifies the file and the ref index.
func (db *DB) Check() error { return errUnbuilt }

// Stats counts records.
func (db *DB) Stats() Stats { return Stats{} }
