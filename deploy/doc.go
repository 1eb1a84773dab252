// Package deploy holds pmsync's deployment files (Dockerfile, systemd unit,
// Kubernetes manifests) and the tests that decode them strictly, so a typo
// in a manifest fails the build. It is a separate module so the Kubernetes
// API types stay out of the daemon's dependencies.
package deploy
