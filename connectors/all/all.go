// Package all registers every tracker kind pmsync ships. It is the one
// explicit list: a new tracker kind is one folder under connectors/ that
// passes the conformance suite, plus one line here.
package all

import (
	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/github"
	"github.com/pmsync/pmsync/connectors/gitlab"
	"github.com/pmsync/pmsync/connectors/jira"
	"github.com/pmsync/pmsync/connectors/memory"
)

func init() {
	for kind, f := range factories {
		connectors.Register(kind, f)
	}
}

// factories is the list of tracker kinds. Keep it sorted.
var factories = map[string]connectors.Factory{
	"github": github.Factory,
	"gitlab": gitlab.New,
	"jira":   jira.Factory,
	"memory": memory.Factory,
}
