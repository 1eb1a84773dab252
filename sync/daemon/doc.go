// Package daemon is `pmsync serve`: the sync engine, its pollers and
// webhook intake, and the reminder schedules in one process over one
// store, behind one HTTP listener.
//
// The listener serves /webhooks/<tracker-id> (the engine's intake, which
// authenticates each delivery with that tracker's secret), /healthz (the
// process is alive), /readyz (the store is open and every tracker was
// polled successfully within ReadyPolls poll intervals; the body names
// what is not ready), /metrics (Prometheus, on a registry of its own) and
// the dashboard at /. It listens on loopback unless configured otherwise;
// with http.token set, every path except /healthz, /readyz and /webhooks/…
// needs "Authorization: Bearer <token>", compared in constant time.
//
// Lifecycle: New checks the options; Start opens the store, builds the
// connectors (each with an HTTP client that counts its requests), the
// engine and the reminder service from the configuration, binds the
// listener and starts them; when the context given to Start ends, the
// daemon stops taking requests, lets the reconciles and deliveries in
// flight finish, and closes the store (Wait returns then). Reload reads
// the configuration again and swaps in a new engine and reminder service
// built from it, or refuses it and keeps the running one.
package daemon
