// Package engine is pmsync's sync engine: it mirrors postmortem action items
// between the platform's tracker and each customer's tracker and keeps them
// in step.
//
// The engine is level-triggered. Polls and webhooks only say "this ref may
// have changed"; a worker then reads both sides fresh and reconciles them
// with a three-way merge per field against the bases stored with the link
// (see merge.go). Content flows from the origin, status from the owner, and
// comments both ways with attribution. What crosses to a customer is
// redacted first (redact.go, scrub.go): only canonical fields, the shared
// summary of a description and comments marked for sharing.
//
// Creation is crash-safe: a durable intent is written before a mirror is
// created, the mirror carries a marker derived from the (item, target) pair,
// and every attempt looks for the marker before creating, so no path makes
// a second mirror (create.go). The same markers let Rebuild reconstruct the
// store from the trackers alone.
//
// Lifecycle: New validates options; Run starts pollers and workers until
// its context ends and drains work in flight; SyncOnce runs one full pass,
// optionally as a dry run that only plans writes.
package engine
