#!/usr/bin/env bash
# Runs every Go fuzz target in the module for the given time each (default 5m).
# Usage: scripts/fuzz.sh [duration]   e.g. scripts/fuzz.sh 30s
set -euo pipefail
cd "$(dirname "$0")/.."
time="${1:-5m}"
status=0
while IFS= read -r line; do
  file="${line%%:*}"
  name="$(sed -E 's/^.*func (Fuzz[A-Za-z0-9_]+).*/\1/' <<<"$line")"
  pkg="./$(dirname "$file")"
  echo "== $name ($pkg) for $time"
  if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$time" -fuzzminimizetime 10s "$pkg"; then
    status=1
  fi
done < <(git ls-files '*_test.go' | xargs grep -nE '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' | grep -v '^deploy/')
exit $status
