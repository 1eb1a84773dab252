package jira

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/connectors/jira/jirafake"
)

// sent renders requests as "METHOD path-tail" for comparisons.
func sent(reqs []recorded) []string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		p := r.Path[strings.LastIndex(r.Path, "/")+1:]
		if _, issue, ok := strings.Cut(r.Path, "/issue/"); ok && !strings.Contains(issue, "/") && issue != "bulkfetch" {
			p = "issue"
		}
		out[i] = r.Method + " " + p
	}
	return out
}

// sameItem compares two items but for UpdatedAt.
func sameItem(a, b *connectors.Item) bool {
	x, y := *a, *b
	x.UpdatedAt, y.UpdatedAt = time.Time{}, time.Time{}
	return itemString(&x) == itemString(&y)
}

func ptrTo[T any](v T) *T { return &v }

// TestUpdateRequests counts what Update sends after the engine's Get, on
// Cloud and Data Center with the real go-jira client: a field change is
// one PUT, a status change the transition calls (plus the PUT when fields
// change too), and nothing else. The item returned is what the next Get
// reads, but for UpdatedAt: the read's, since Jira's answers do not say
// the write's (a read back after clearing the priority gives the real one).
func TestUpdateRequests(t *testing.T) {
	type tc struct {
		name  string
		patch func(e *env) connectors.Patch
		want  []string
	}
	tests := []tc{
		{"fields", func(e *env) connectors.Patch {
			return connectors.Patch{Title: ptrTo("renamed"), Description: ptrTo("Now **bold**."), Priority: ptrTo(connectors.P0),
				Due: ptrTo("2026-05-01"), Assignee: ptrTo(e.fake.Users()[1])}
		}, []string{"PUT issue"}},
		{"label fields", func(*env) connectors.Patch {
			return connectors.Patch{Kind: ptrTo(connectors.KindDetect), Incident: ptrTo("INC-9"), Owner: ptrTo(connectors.OwnerPlatform)}
		}, []string{"PUT issue"}},
		{"clear fields", func(*env) connectors.Patch {
			return connectors.Patch{Description: ptrTo(""), Due: ptrTo(""), Assignee: ptrTo(""), Kind: ptrTo(connectors.Kind(""))}
		}, []string{"PUT issue"}},
		{"status", func(*env) connectors.Patch {
			return connectors.Patch{Status: ptrTo(connectors.StatusInProgress)}
		}, []string{"GET transitions", "POST transitions"}},
		{"status and fields", func(*env) connectors.Patch {
			return connectors.Patch{Status: ptrTo(connectors.StatusWontDo), Title: ptrTo("dropped")}
		}, []string{"PUT issue", "GET transitions", "POST transitions"}},
		// The engine asks for a write only when its read differs: a cache
		// that says there is nothing to do is checked with a fresh read.
		{"status already there", func(*env) connectors.Patch {
			return connectors.Patch{Status: ptrTo(connectors.StatusOpen)}
		}, []string{"GET issue"}},
		{"priority cleared", func(*env) connectors.Patch {
			return connectors.Patch{Priority: ptrTo(connectors.Priority(""))}
		}, []string{"PUT issue", "GET issue"}}, // Jira picks the default
	}
	for _, fl := range flavors {
		for _, tc := range tests {
			e := newEnv(t, jirafake.Options{Flavor: fl}, nil)
			marker := connectors.MarkerID([]byte("k"), "platform", "10001", "acme")
			in := &connectors.Item{Title: "before", Description: "Was.", Priority: connectors.P3, Kind: connectors.KindMitigate,
				Incident: "INC-1", Owner: connectors.OwnerCustomer, Due: "2026-04-01", Assignee: e.fake.Users()[0],
				Labels: []string{"customer:acme"}}
			created, err := e.c.Create(ctxT(t), marker, in)
			if err != nil {
				t.Fatalf("%s %s: Create: %v", fl, tc.name, err)
			}
			key := created.Ref.Key
			e.fake.Advance(time.Minute) // the create's read is stale now
			before, err := e.c.Get(ctxT(t), key)
			if err != nil {
				t.Fatalf("%s %s: Get: %v", fl, tc.name, err)
			}
			n := e.rec.count()
			got, err := e.c.Update(ctxT(t), key, tc.patch(e))
			if err != nil {
				t.Fatalf("%s %s: Update: %v", fl, tc.name, err)
			}
			if reqs := sent(e.rec.since(n)); !slices.Equal(reqs, tc.want) {
				t.Errorf("%s %s: Update after Get sent %v, want %v", fl, tc.name, reqs, tc.want)
			}
			after, err := e.c.Get(ctxT(t), key)
			if err != nil {
				t.Fatalf("%s %s: Get after: %v", fl, tc.name, err)
			}
			if !sameItem(got, after) {
				t.Errorf("%s %s: Update returned\n%s\nbut Get reads\n%s", fl, tc.name, itemString(got), itemString(after))
			}
			if after.Marker != marker || !slices.Contains(e.issue(t, key).Labels, "pmsync-"+marker) {
				t.Errorf("%s %s: marker after the update: item %q, labels %v; want both kept", fl, tc.name, after.Marker, e.issue(t, key).Labels)
			}
			want := before.UpdatedAt
			if tc.name == "priority cleared" {
				want = after.UpdatedAt
			}
			if !got.UpdatedAt.Equal(want) {
				t.Errorf("%s %s: UpdatedAt got %v, want %v", fl, tc.name, got.UpdatedAt, want)
			}
			if tc.want != nil && tc.name != "status already there" && !after.UpdatedAt.After(before.UpdatedAt) {
				t.Errorf("%s %s: the write did not move UpdatedAt (%v): the test proves nothing", fl, tc.name, after.UpdatedAt)
			}
		}
	}
}

// TestUpdateReadsWhenItMust: Update reads the issue first (its labels are
// needed) and back when its last read is not fresh: older than the cache's
// age by the injected clock, dropped by a webhook naming it, by a Changes
// row newer than it, or by a write to it that failed. Labels a person
// changed are then kept, and the item returned is exact.
func TestUpdateReadsWhenItMust(t *testing.T) {
	tests := []struct {
		name  string
		after func(t *testing.T, e *env, key string)
	}{
		{"read is older than the cache's age", func(t *testing.T, e *env, key string) {
			e.fake.Advance(cacheTTL + time.Millisecond)
		}},
		{"a webhook names the issue", func(t *testing.T, e *env, key string) {
			body, _ := json.Marshal(map[string]any{"timestamp": 1, "webhookEvent": "jira:issue_updated",
				"issue": map[string]any{"id": "10001", "key": key, "fields": map[string]any{}}})
			r, err := e.fake.SignedRequest("http://127.0.0.1/webhooks/platform", body, "d1", true)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.c.ParseWebhook(r, body); err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
		}},
		{"a person's edit shows in Changes", func(t *testing.T, e *env, key string) {
			if err := e.fake.Edit(key, jirafake.IssueInput{Labels: &[]string{"customer:acme", "pmsync-f00dfeed", "added-by-a-person"}}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.c.Changes(ctxT(t), ""); err != nil {
				t.Fatalf("Changes: %v", err)
			}
		}},
		{"a write failed after it was applied", func(t *testing.T, e *env, key string) {
			e.fake.Inject(conformance.Fault{Op: conformance.OpUpdate, Status: 502, AfterCommit: true})
			if _, err := e.c.Update(ctxT(t), key, connectors.Patch{Incident: ptrTo("INC-5")}); err == nil {
				t.Fatal("Update with a lost answer: got no error")
			}
		}},
	}
	for _, fl := range flavors {
		for _, tc := range tests {
			e := newEnv(t, jirafake.Options{Flavor: fl}, nil)
			key := e.create(t, "f00dfeed", "watched").Ref.Key
			if err := e.fake.Edit(key, jirafake.IssueInput{Labels: &[]string{"customer:acme", "pmsync-f00dfeed"}}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.c.Get(ctxT(t), key); err != nil {
				t.Fatal(err)
			}
			tc.after(t, e, key)
			n := e.rec.count()
			got, err := e.c.Update(ctxT(t), key, connectors.Patch{Kind: ptrTo(connectors.KindDetect)})
			if err != nil {
				t.Fatalf("%s %s: Update: %v", fl, tc.name, err)
			}
			if reqs := sent(e.rec.since(n)); !slices.Equal(reqs, []string{"GET issue", "PUT issue", "GET issue"}) {
				t.Errorf("%s %s: Update sent %v, want a read, the PUT, a read back", fl, tc.name, reqs)
			}
			if after, err := e.c.Get(ctxT(t), key); err != nil || itemString(after) != itemString(got) {
				t.Errorf("%s %s: Update returned\n%s\nbut Get reads\n%s (%v)", fl, tc.name, itemString(got), itemString(after), err)
			}
			labels := e.issue(t, key).Labels
			want := []string{"type-detect", "customer:acme", "pmsync-f00dfeed"}
			if strings.Contains(tc.name, "person") {
				want = append(want, "added-by-a-person")
			}
			if strings.Contains(tc.name, "failed") {
				want = []string{"type-detect", "incident-INC-5", "customer:acme", "pmsync-f00dfeed"}
			}
			slices.Sort(labels)
			slices.Sort(want)
			if !slices.Equal(labels, want) {
				t.Errorf("%s %s: labels %v, want %v", fl, tc.name, labels, want)
			}
		}
	}
}

// TestUpdateOfUnreadIssue: without any read before, a field change is the
// PUT and a read back; a deleted issue is ErrNotFound however fresh its
// read.
func TestUpdateOfUnreadIssue(t *testing.T) {
	for _, fl := range flavors {
		e := newEnv(t, jirafake.Options{Flavor: fl}, nil)
		key := e.create(t, "", "someone's").Ref.Key
		other := e.connect(t, nil) // never read it
		n := e.rec.count()
		if _, err := other.Update(ctxT(t), key, connectors.Patch{Title: ptrTo("renamed")}); err != nil {
			t.Fatalf("%s: Update: %v", fl, err)
		}
		if reqs := sent(e.rec.since(n)); !slices.Equal(reqs, []string{"PUT issue", "GET issue"}) {
			t.Errorf("%s: Update of an issue never read sent %v, want the PUT then a read back", fl, reqs)
		}
		if err := e.fake.Delete(key); err != nil {
			t.Fatal(err)
		}
		_, err := e.c.Update(ctxT(t), key, connectors.Patch{Title: ptrTo("gone")})
		if code := connectors.CodeOf(err); code != connectors.CodeNotFound {
			t.Errorf("%s: Update of a deleted issue: got %v, want not found", fl, err)
		}
		_, err = e.c.Update(ctxT(t), key, connectors.Patch{Status: ptrTo(connectors.StatusDone)})
		if code := connectors.CodeOf(err); code != connectors.CodeNotFound {
			t.Errorf("%s: status Update of a deleted issue: got %v, want not found", fl, err)
		}
	}
}

// TestCreateWithStatusRequests: a create in a status other than open is
// the create, a read for the workflow walk, the transition calls and a
// read back; the item returned is what Get reads, UpdatedAt included.
func TestCreateWithStatusRequests(t *testing.T) {
	for _, fl := range flavors {
		e := newEnv(t, jirafake.Options{Flavor: fl}, nil)
		n := e.rec.count()
		it, err := e.c.Create(ctxT(t), "", &connectors.Item{Title: "started", Status: connectors.StatusInProgress})
		if err != nil {
			t.Fatalf("%s: Create: %v", fl, err)
		}
		want := []string{"POST issue", "GET issue", "GET transitions", "POST transitions", "GET issue"}
		if reqs := sent(e.rec.since(n)); !slices.Equal(reqs, want) {
			t.Errorf("%s: Create in progress sent %v, want %v", fl, reqs, want)
		}
		got, err := e.c.Get(ctxT(t), it.Ref.Key)
		if err != nil || itemString(it) != itemString(got) || got.Status != connectors.StatusInProgress {
			t.Errorf("%s: Create returned\n%s\nbut Get reads\n%s (%v)", fl, itemString(it), itemString(got), err)
		}
	}
}

// TestStatusUpdateFromAnOldRead: a status change sends no field from the
// read, so a read of any age plans the walk (no GET of the issue); a plan
// from a read that no longer holds fails at Jira or walks from where the
// issue is, and never leaves it in another status than asked.
func TestStatusUpdateFromAnOldRead(t *testing.T) {
	for _, fl := range flavors {
		e := newEnv(t, jirafake.Options{Flavor: fl}, nil)
		person := e.connect(t, nil) // another client, with its own reads
		key := e.create(t, "f00dfeed", "walked").Ref.Key
		statusOf := func() connectors.Status {
			it, err := person.Get(ctxT(t), key)
			if err != nil {
				t.Fatalf("%s: Get: %v", fl, err)
			}
			return it.Status
		}
		if _, err := e.c.Get(ctxT(t), key); err != nil {
			t.Fatal(err)
		}
		e.fake.Advance(time.Hour)
		n := e.rec.count()
		got, err := e.c.Update(ctxT(t), key, connectors.Patch{Status: ptrTo(connectors.StatusInProgress)})
		if err != nil {
			t.Fatalf("%s: Update: %v", fl, err)
		}
		if reqs := sent(e.rec.since(n)); slices.Contains(reqs, "GET issue") || !slices.Contains(reqs, "POST transitions") {
			t.Errorf("%s: status Update an hour after the read sent %v, want the walk without reading the issue", fl, reqs)
		}
		if s := statusOf(); got.Status != connectors.StatusInProgress || s != connectors.StatusInProgress {
			t.Errorf("%s: status after the walk: returned %s, stored %s; want in_progress", fl, got.Status, s)
		}

		// A person closes the issue; pmsync's last read says In Progress.
		if _, err := e.c.Get(ctxT(t), key); err != nil {
			t.Fatal(err)
		}
		if _, err := person.Update(ctxT(t), key, connectors.Patch{Status: ptrTo(connectors.StatusDone)}); err != nil {
			t.Fatal(err)
		}
		e.fake.Advance(time.Hour)
		if _, err := e.c.Update(ctxT(t), key, connectors.Patch{Status: ptrTo(connectors.StatusOpen)}); err != nil {
			// The stale plan failed and dropped the read: the next
			// Update walks from a fresh one.
			if _, err := e.c.Update(ctxT(t), key, connectors.Patch{Status: ptrTo(connectors.StatusOpen)}); err != nil {
				t.Fatalf("%s: Update after a stale plan failed: %v", fl, err)
			}
		}
		if s := statusOf(); s != connectors.StatusOpen {
			t.Errorf("%s: status %s after reopening from a stale read, want open", fl, s)
		}
	}
}
