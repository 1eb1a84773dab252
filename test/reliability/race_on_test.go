//go:build race

package reliability

// raceEnabled says that the tests run with the race detector, so the
// pmsync binary they start is built with it too.
const raceEnabled = true
