package reliability

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/jira"
	"github.com/pmsync/pmsync/connectors/jira/jirafake"
)

// TestJiraCloudSearchLagLosesNoItem polls a Jira Cloud site whose search
// index lags writes by 10 minutes (Atlassian: "from a few seconds to
// minutes"). A person creates an item; a minute later pmsync writes an
// item of its own, which the connector makes visible at once through
// reconcileIssues; the poll then sees only pmsync's item and its cursor
// moves past the person's. Once the index has caught up, the next poll
// must still return the person's item: a poll that never does loses it
// for good (nothing else re-reads an item that is not linked yet, and
// webhooks can be lost).
func TestJiraCloudSearchLagLosesNoItem(t *testing.T) {
	ctx := context.Background()
	clock := NewClock(jirafake.DefaultStart, false)
	srv := jirafake.Start(jirafake.Options{Flavor: jirafake.Cloud, Project: "GLX", Token: TokenOf(Globex),
		Email: "bot@globex.example", SearchLag: 10 * time.Minute, Now: clock.Now})
	defer srv.Close()
	conn, err := jira.New(connectors.Config{ID: Globex, Kind: jira.Kind, Flavor: jira.FlavorCloud, URL: srv.URL(),
		Project: "GLX", Token: TokenOf(Globex), User: "bot@globex.example", Now: clock.Now,
		HTTPClient: &http.Client{Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	first, err := conn.Changes(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	title := "a person's item"
	personKey, err := srv.CreateIssue("", jirafake.IssueInput{Summary: &title})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(3 * time.Minute)
	own, err := conn.Create(ctx, "lag0marker0000000000001", &connectors.Item{Title: "pmsync's mirror", Status: connectors.StatusOpen})
	if err != nil {
		t.Fatal(err)
	}
	cursor := first.Cursor
	seen := map[string]bool{}
	for i := 0; i < 15; i++ { // a poll a minute for 15 minutes
		clock.Advance(time.Minute)
		ch, err := conn.Changes(ctx, cursor)
		if err != nil {
			t.Fatalf("poll %d: %v", i+1, err)
		}
		for _, it := range ch.Items {
			seen[it.Ref.Key] = true
		}
		cursor = ch.Cursor
	}
	if !seen[own.Ref.Key] {
		t.Errorf("the polls never returned pmsync's own item %s", own.Ref.Key)
	}
	if !seen[personKey] {
		t.Errorf("15 minutes of polls never returned %s, created by a person while the index lagged 10 minutes: the cursor moved past it", personKey)
	}
}
