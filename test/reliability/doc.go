// Package reliability holds pmsync's cross-package reliability tests and
// the harness they share with the benchmarks in test/perf: a clock tests
// move, worlds of trackers (in-memory, or the GitHub, GitLab and Jira
// simulators over HTTP) around a real store and engine, a fault-injecting
// HTTP transport, a connector that "dies" at a chosen request, invariant
// checks (no duplicate mirror, no cross-tenant text), and the child
// process used by the kill -9 tests.
//
// The tests prove what docs/reliability.md promises: crashes at any point
// make no duplicate and lose no change, hostile remotes are waited out
// and never hammered, a full disk is answered with 5xx and recovered from
// without a restart, bad webhook deliveries queue no work, and no secret
// or other tenant's text leaks anywhere. The default `go test` run keeps
// each test short; env vars (PMSYNC_MODEL_SEQS, PMSYNC_SOAK_KILLS,
// PMSYNC_CHAOS_ITEMS) select the long forms.
package reliability
