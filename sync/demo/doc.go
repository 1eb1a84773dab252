// Package demo is `pmsync demo`: pmsync against simulated trackers, with
// no account and no configuration. It starts the GitHub, GitLab and Jira
// simulators on 127.0.0.1 (real HTTP servers speaking each tracker's REST
// API and sending signed webhooks), writes a configuration for them, runs
// the real daemon (package daemon: engine, pollers, webhook intake,
// dashboard) with a bbolt file in a temporary directory, and plays a short
// story on the storage-latency incident: people on each side file action
// items, change statuses and comment, and each step waits until pmsync has
// brought the other side in step. Everything pmsync does in the demo is
// the real engine and the real connectors.
//
// The platform (Example Cloud) is on Jira Data Center; JaneCorp is on
// GitHub, Acme Analytics on GitLab.
package demo
