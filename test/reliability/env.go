package reliability

import (
	"os"
	"strconv"
	"testing"
)

// EnvInt reads a positive integer from environment variable name, or
// returns def when it is unset; a malformed value fails the test.
func EnvInt(tb testing.TB, name string, def int) int {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		tb.Fatalf("environment variable %s=%q: want a non-negative integer", name, v)
	}
	return n
}
