// Package bench measures pmsync against the GitHub, GitLab and Jira
// simulators with the real client libraries: API requests per idle poll and
// per mirrored change, initial fan-out throughput (with and without GitHub's
// content-creation limit), webhook-to-mirror latency, and the memory,
// store size and start-up time of a daemon holding 100,000 links.
//
// Everything here is a benchmark (or a child process a benchmark starts):
// `go test` alone runs nothing slow. `make bench` prints the custom metrics
// (requests/poll, req/s, p99-ms, heap-MB, ...) as a table; the figures and
// their bars are written up in docs/performance.md.
//
// PMSYNC_BENCH_ITEMS sets the fan-out size (default 1,000; the issue's
// figure is 10,000), PMSYNC_BENCH_LIMIT_ITEMS the size of the run under
// GitHub's creation limit (default 200) and PMSYNC_BENCH_LINKS the links
// of the memory benchmark (default 100,000).
package bench
