// Package store keeps pmsync's durable state in one bbolt file: links and
// their ref index, intents, watermarks, webhook deliveries, the audit log,
// digest and reminder send records, and small component state.
//
// It follows hashicorp/raft-boltdb: one store type, every bucket created at
// Open in one transaction (together with any schema migration), sentinel
// errors (ErrNotFound, ErrLocked, ErrNoSpace, ErrConflict, ErrInvalid; test
// with errors.Is), and values copied out of transactions: they are decoded
// from JSON, so fields can be added to Link, Side or Intent without a
// migration. Link values over a few hundred bytes are stored deflated (see
// codec.go); that halves the file.
//
// Write methods that many workers call at once (PutLink, PutIntent,
// CompleteIntent, RecordDelivery, Audit) share transactions through
// bolt.DB.Batch when calls overlap, and run at once when alone; each returns
// only once its write is on disk (unless Options.NoSync).
//
// # Layout
//
// Keys are scoped by customer: everything that belongs to one customer lives
// under that customer's own bucket, so no key of one customer can reach
// another's records, and Links, AuditLog and Sends take the customer as an
// argument rather than filtering a shared list.
//
//	meta/schema                        decimal SchemaVersion of the file
//	customers/<customer>/links/<id>    Link (JSON); id is the marker id
//	customers/<customer>/refs/<tracker>\x00<key>
//	                                   link id: the ref index, both sides of
//	                                   every link of that customer
//	customers/<customer>/summaries/<id>
//	                                   LinkSummary of link <id> (a few bytes
//	                                   of fixed binary, see summary.go),
//	                                   written with the link
//	customers/<customer>/intents/<id>  Intent (JSON)
//	customers/<customer>/audit/<t><seq>
//	                                   AuditEvent (JSON) of that customer;
//	                                   t = 8-byte big-endian Unix ns, seq = 8-byte
//	audit/<t><seq>                     platform-wide AuditEvent (JSON); the
//	                                   bucket's sequence numbers every event
//	watermarks/<tracker>               opaque connector cursor
//	deliveries/<tracker>\x00<id>       8-byte big-endian expiry (Unix ns)
//	delivery-expiry/<exp><tracker>\x00<id>
//	                                   empty: deliveries ordered by expiry
//	sends/<key>                        SendRecord (JSON), carrying its customer
//	state/<name>                       bytes of one component's state
//
// A platform ref linked to three customers appears in three refs buckets,
// each pointing at that customer's own link; LinksByRef visits each
// customer's index. Ids and tracker names may not contain NUL.
//
// # Schema versions
//
// SchemaVersion is stored in meta/schema. Open applies each migration from
// the file's version up, in the same transaction that creates the buckets,
// and refuses a file whose version is newer than SchemaVersion.
//
// # Size limit
//
// Options.MaxSize (and SetMaxSize) make writes fail with ErrNoSpace, with
// nothing recorded, before they could grow the file past the limit; see
// space.go. This is how full-disk behaviour is tested, and a way to cap the
// file in production.
package store
