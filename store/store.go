package store

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrNotFound is returned when a record does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrLocked is returned by Open when another process holds the file.
	ErrLocked = errors.New("store: file is locked by another process")
	// ErrNoSpace is returned by a write that would grow the file beyond
	// Options.MaxSize. Nothing of that write was recorded.
	ErrNoSpace = errors.New("store: no space left (size limit reached)")
	// ErrConflict is returned when a write contradicts a record already
	// stored: a ref linked twice for one customer, an intent or send key
	// already owned by another customer, an illegal state change.
	ErrConflict = errors.New("store: conflicting record")
	// ErrInvalid is returned for a record with a missing or malformed field;
	// the error text names the field.
	ErrInvalid = errors.New("store: invalid record")
)

// DefaultTimeout is how long Open waits for the file lock by default.
const DefaultTimeout = time.Second

// DefaultBatchDelay is the default Options.BatchDelay.
const DefaultBatchDelay = 2 * time.Millisecond

// Options configure Open. The zero value is a sensible production setup.
type Options struct {
	// Timeout is how long Open waits for the file lock held by another
	// process before failing with ErrLocked; default DefaultTimeout.
	Timeout time.Duration
	// MaxSize limits the size of the file: 0 means unlimited; otherwise a
	// write that could grow the file beyond MaxSize fails with ErrNoSpace
	// and records nothing. The check is conservative (it assumes the
	// worst-case page use of the write), so writes stop somewhat before the
	// file reaches MaxSize (bbolt grows the file by doubling up to 16 MiB,
	// so a limit of 1 MiB holds a little under 512 KiB of data at worst;
	// under 128 KiB it holds almost nothing). It can be changed later with
	// SetMaxSize.
	MaxSize int64
	// NoSync skips fsync on commit. It is unsafe (a crash can lose or
	// corrupt data) and meant for tests and benchmarks only.
	NoSync bool
	// BatchDelay is how long a batched write waits for others to join its
	// transaction; default DefaultBatchDelay.
	BatchDelay time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives open, migration and maintenance messages; default
	// slog.Default().
	Logger *slog.Logger
}

// DB is an open pmsync store. It is safe for concurrent use; Close it when
// done. Only one process can have a store open at a time.
type DB struct {
	bolt    *bolt.DB
	path    string
	now     func() time.Time
	log     *slog.Logger
	maxSize atomic.Int64
	writers atomic.Int64 // callers inside batch
	space   spaceMeter
}

// Open opens the store at path, creating it (mode 0600) when missing. It
// creates every bucket and applies pending schema migrations in one
// transaction. When another process holds the file, Open fails within
// o.Timeout with an error that wraps ErrLocked and names the file. A file
// written by a newer pmsync (schema version above SchemaVersion) is refused.
func Open(path string, o Options) (*DB, error) {
	if path == "" {
		return nil, fmt.Errorf("store: open: path is empty")
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.BatchDelay <= 0 {
		o.BatchDelay = DefaultBatchDelay
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxSize < 0 {
		return nil, fmt.Errorf("store: open %s: MaxSize %d is negative", path, o.MaxSize)
	}
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.Timeout, NoSync: o.NoSync})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("store: another pmsync is using %s (lock not released within %s): %w", path, o.Timeout, ErrLocked)
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	bdb.MaxBatchDelay = o.BatchDelay
	db := &DB{bolt: bdb, path: path, now: o.Now, log: o.Logger.With("store", path)}
	db.maxSize.Store(o.MaxSize)
	from, err := db.init()
	if err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if from != SchemaVersion {
		db.log.Info("store schema migrated", "from", from, "to", SchemaVersion)
	}
	db.log.Debug("store opened", "schema", SchemaVersion)
	return db, nil
}

// Close waits for pending transactions and closes the file.
func (db *DB) Close() error {
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", db.path, err)
	}
	return nil
}

// Path returns the file the store was opened from.
func (db *DB) Path() string { return db.path }

// SetMaxSize changes the size limit of the open store (0 = unlimited). Raising
// it after ErrNoSpace lets writes continue without reopening.
func (db *DB) SetMaxSize(n int64) {
	if n < 0 {
		n = 0
	}
	db.maxSize.Store(n)
}

// update runs fn in a read-write transaction of its own.
func (db *DB) update(fn func(w *wtx) error) error {
	return db.bolt.Update(func(tx *bolt.Tx) error { return fn(db.space.begin(db, tx)) })
}

// batch runs fn in a read-write transaction that it may share with other
// concurrent callers (bolt.DB.Batch). A caller that is alone runs its own
// transaction at once instead of waiting BatchDelay for company. fn may run
// more than once: it must reset any result it reports through a closure
// before doing anything else.
func (db *DB) batch(fn func(w *wtx) error) error {
	if db.writers.Add(1) == 1 {
		defer db.writers.Add(-1)
		return db.update(fn)
	}
	defer db.writers.Add(-1)
	return db.bolt.Batch(func(tx *bolt.Tx) error { return fn(db.space.begin(db, tx)) })
}

// view runs fn in a read-only transaction.
func (db *DB) view(fn func(tx *bolt.Tx) error) error { return db.bolt.View(fn) }

// fileSize returns the size of the file on disk.
func (db *DB) fileSize() int64 {
	fi, err := os.Stat(db.path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
