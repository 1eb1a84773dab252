package demo

import (
	"slices"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/jira"
)

// The jira kind joins connectors/all with its connector; until it is
// listed there, the demo's tests register it themselves.
func init() {
	if !slices.Contains(connectors.Registered(), "jira") {
		connectors.Register("jira", jira.Factory)
	}
}
