package reliability

import (
	"testing"

	"github.com/pmsync/pmsync/connectors/jira"
)

// TestJiraWikiRoundTripStable holds inputs on which FuzzWikiConversion
// (connectors/jira) found the Markdown↔wiki round trip unstable, which the
// jira package documents as impossible: WikiToMarkdown(MarkdownToWiki(m))
// must be a fixed point of the pair. An unstable round trip makes a body
// synced through Jira change on every pass (a write loop, or a growing run
// of backslashes). The first three were fixed in connectors/jira; the
// others are open bugs there.
func TestJiraWikiRoundTripStable(t *testing.T) {
	for _, md := range []string{
		"http://*",          // an escape added on every round (fixed)
		"*# ",               // a list marker read differently each round (fixed)
		`\__\_`,             // escapes oscillating between two forms (fixed)
		"**0***\t*",         // strong emphasis next to a tab: the markup grows each round
		"**bold** and *it*", // canonical control
	} {
		m1 := jira.WikiToMarkdown(jira.MarkdownToWiki(md))
		m2 := jira.WikiToMarkdown(jira.MarkdownToWiki(m1))
		if m1 != m2 {
			t.Errorf("Markdown %q: round 1 gives %q, round 2 gives %q; want a fixed point after one round", md, m1, m2)
		}
	}
}
