package jira

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/conformance"
	"github.com/pmsync/pmsync/connectors/jira/jirafake"
)

// TestChangesUserZoneMinuteBoundary: JQL dates are minutes in the API
// user's zone. Edits one millisecond either side of a minute boundary, right
// after the watermark, must all be listed, with no overlap to hide a
// wrongly floored or wrongly zoned cursor.
func TestChangesUserZoneMinuteBoundary(t *testing.T) {
	tests := []struct {
		zone      string
		wantDate  string // the cursor as the JQL must carry it
		wrongDate string // the cursor formatted in UTC instead
		wrongHits bool   // whether the UTC-formatted query still finds the edits
	}{
		{"Australia/Brisbane", "2026/03/02 18:59", "2026/03/02 08:59", true},
		{"America/Los_Angeles", "2026/03/02 00:59", "2026/03/02 08:59", false},
		{"Asia/Kolkata", "2026/03/02 14:29", "2026/03/02 08:59", true},
	}
	for _, fl := range flavors {
		for _, tc := range tests {
			me := jirafake.User{AccountID: "557058:bot", Name: "bot", DisplayName: "bot", TimeZone: tc.zone}
			e := newEnv(t, jirafake.Options{Flavor: fl, Me: me}, func(cfg *connectors.Config) { cfg.Overlap = time.Nanosecond })
			e.c.indexLag = 0     // this test is about zones and minutes, not index lag
			base := e.fake.Now() // 08:59:30 UTC
			a := e.create(t, "", "a").Ref.Key
			b := e.create(t, "", "b").Ref.Key
			c := e.create(t, "", "c").Ref.Key
			first, err := e.c.Changes(ctxT(t), "")
			if err != nil || !slices.Equal(keys(first.Items), []string{a, b, c}) {
				t.Fatalf("%s %s: first Changes: got %v, %v; want %v", fl, tc.zone, first, err, []string{a, b, c})
			}
			minute := base.Truncate(time.Minute).Add(time.Minute) // 09:00:00 UTC
			e.advanceTo(t, minute.Add(-time.Millisecond))
			if err := e.fake.EditTitle(b, "b at :59.999"); err != nil {
				t.Fatal(err)
			}
			if err := e.fake.EditTitle(c, "c at :00.000"); err != nil {
				t.Fatal(err)
			}
			next, err := e.c.Changes(ctxT(t), first.Cursor)
			if err != nil {
				t.Fatalf("%s %s: Changes(cursor): %v", fl, tc.zone, err)
			}
			if got := keys(next.Items); !slices.Equal(got, []string{b, c}) {
				t.Errorf("%s %s: Changes after edits at the minute boundary: got %v, want [%s %s] (and not %s again)", fl, tc.zone, got, b, c, a)
			}
			jqls := e.fake.JQLs()
			if q := jqls[len(jqls)-1]; !strings.Contains(q, `updated >= "`+tc.wantDate+`"`) {
				t.Errorf("%s %s: JQL got %s, want the watermark %q in the user's zone", fl, tc.zone, q, tc.wantDate)
			}
			// The same cursor in UTC misses the edits where the user is
			// west of Greenwich: the check above is what prevents that.
			wrong := `project = PLAT AND updated >= "` + tc.wrongDate + `" ORDER BY updated ASC`
			raws, err := e.c.search(ctxT(t), "test", wrong)
			if err != nil {
				t.Fatal(err)
			}
			if hits := len(raws) >= 2; hits != tc.wrongHits {
				t.Errorf("%s %s: a UTC-formatted cursor found the edits: %v, want %v", fl, tc.zone, hits, tc.wrongHits)
			}
			idle, err := e.c.Changes(ctxT(t), next.Cursor)
			if err != nil || len(idle.Items) != 0 || idle.Requests != 1 {
				t.Errorf("%s %s: idle Changes: got %v, %v; want no items in 1 request", fl, tc.zone, idle, err)
			}
		}
	}
}

// TestChangesUnknownZone: when /myself names no zone the cursor is written
// at UTC-12, which re-reads more but misses nothing in any user's zone.
func TestChangesUnknownZone(t *testing.T) {
	for _, zone := range []string{"America/Los_Angeles", "Pacific/Kiritimati"} {
		me := jirafake.User{AccountID: "557058:bot", Name: "bot", DisplayName: "bot", TimeZone: zone}
		e := newEnv(t, jirafake.Options{Me: me, HideTimeZone: true}, func(cfg *connectors.Config) { cfg.Overlap = time.Nanosecond })
		e.c.indexLag = 0
		a := e.create(t, "", "a").Ref.Key
		first, err := e.c.Changes(ctxT(t), "")
		if err != nil || !slices.Equal(keys(first.Items), []string{a}) {
			t.Fatalf("%s: first Changes: got %v, %v", zone, first, err)
		}
		e.advanceTo(t, e.fake.Now().Truncate(time.Minute).Add(time.Minute))
		if err := e.fake.EditTitle(a, "edited"); err != nil {
			t.Fatal(err)
		}
		next, err := e.c.Changes(ctxT(t), first.Cursor)
		if err != nil || !slices.Equal(keys(next.Items), []string{a}) {
			t.Errorf("%s: Changes with an unknown zone: got %v, %v; want [%s]", zone, next, err, a)
		}
		jqls := e.fake.JQLs()
		if q := jqls[len(jqls)-1]; !strings.Contains(q, `updated >= "2026/03/01 20:59"`) {
			t.Errorf("%s: JQL %s, want the watermark written at UTC-12", zone, q)
		}
	}
}

// TestLostCreateUnderSearchLag: Cloud's search index lags writes by 60 s; a
// create whose answer is lost must still be found by marker, so the engine
// never creates a second mirror.
func TestLostCreateUnderSearchLag(t *testing.T) {
	e := newEnv(t, jirafake.Options{Flavor: jirafake.Cloud, SearchLag: time.Minute}, nil)
	marker := connectors.MarkerID([]byte("k"), "platform", "10001", "janecorp")
	e.fake.Inject(conformance.Fault{Op: conformance.OpCreate, Status: 502, AfterCommit: true})
	_, err := e.c.Create(ctxT(t), marker, &connectors.Item{Title: "mirror", Status: connectors.StatusOpen})
	if err == nil || !connectors.Retryable(err) {
		t.Fatalf("Create with a lost answer: got %v, want a retryable error", err)
	}
	for _, who := range []struct {
		name string
		c    *Connector
	}{{"same connector", e.c}, {"after a restart", e.connect(t, nil)}} {
		n := e.rec.count()
		it, err := who.c.FindByMarker(ctxT(t), marker, connectors.FindHint{})
		if err != nil {
			t.Fatalf("%s: FindByMarker under a 60 s search lag: %v", who.name, err)
		}
		if it.Marker != marker || it.Title != "mirror" {
			t.Errorf("%s: FindByMarker: got marker %q title %q, want %q %q", who.name, it.Marker, it.Title, marker, "mirror")
		}
		if gets := matching(e.rec.since(n), "GET", "/issue/PLAT-"); len(gets) == 0 {
			t.Errorf("%s: FindByMarker found it without reading keys, so the index did not lag", who.name)
		}
	}
	if got := e.fake.Count(); got != 1 {
		t.Errorf("Count: got %d, want 1", got)
	}
	// Once indexed, the label query alone finds it.
	e.fake.Advance(61 * time.Second)
	n := e.rec.count()
	if _, err := e.connect(t, nil).FindByMarker(ctxT(t), marker, connectors.FindHint{}); err != nil {
		t.Fatalf("FindByMarker after the lag: %v", err)
	}
	if reqs := e.rec.since(n); len(reqs) != 1 {
		t.Errorf("FindByMarker after the lag: got %d requests %v, want 1 search", len(reqs), reqs)
	}
}

// TestChangesUnderSearchLag: a person's edit is invisible to search for the
// lag; the next poll after the lag must list it (the overlap covers it).
func TestChangesUnderSearchLag(t *testing.T) {
	e := newEnv(t, jirafake.Options{Flavor: jirafake.Cloud, SearchLag: time.Minute}, nil)
	key := e.create(t, "", "own write").Ref.Key
	first, err := e.c.Changes(ctxT(t), "")
	if err != nil || !slices.Equal(keys(first.Items), []string{key}) {
		t.Fatalf("Changes right after an own create: got %v, %v; want [%s] (reconcileIssues)", first, err, key)
	}
	other, err := e.fake.CreateIssue("712020:5f1e-alice", jirafake.IssueInput{Summary: ptr("by a person")})
	if err != nil {
		t.Fatal(err)
	}
	e.fake.Advance(30 * time.Second)
	mid, err := e.c.Changes(ctxT(t), first.Cursor)
	if err != nil || len(mid.Items) != 0 {
		t.Fatalf("Changes inside the lag: got %v, %v; want nothing yet", mid, err)
	}
	e.fake.Advance(31 * time.Second)
	after, err := e.c.Changes(ctxT(t), mid.Cursor)
	if err != nil || !slices.Equal(keys(after.Items), []string{other}) {
		t.Errorf("Changes after the lag: got %v, %v; want [%s]", after, err, other)
	}
}

func ptr[T any](v T) *T { return &v }

// TestChangesIndexLagBehindOwnWrites: a person's edit lags in Cloud's index
// while pmsync's own later write is visible at once (reconcileIssues). The
// cursor must not move past the person's edit: a poll after the index caught
// up still lists it, for index lags up to cloudIndexLag.
func TestChangesIndexLagBehindOwnWrites(t *testing.T) {
	for _, lag := range []time.Duration{time.Minute, 5 * time.Minute, cloudIndexLag} {
		e := newEnv(t, jirafake.Options{Flavor: jirafake.Cloud, SearchLag: lag}, nil)
		first, err := e.c.Changes(ctxT(t), "")
		if err != nil {
			t.Fatal(err)
		}
		person, err := e.fake.CreateIssue("", jirafake.IssueInput{Summary: ptr("a person's item")})
		if err != nil {
			t.Fatal(err)
		}
		e.fake.Advance(3 * time.Minute)
		own := e.create(t, "", "pmsync's mirror").Ref.Key
		seen := map[string]int{}
		cur := first.Cursor
		for range 15 {
			e.fake.Advance(time.Minute)
			ch, err := e.c.Changes(ctxT(t), cur)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range ch.Items {
				seen[it.Ref.Key]++
			}
			cur = ch.Cursor
		}
		if seen[own] != 1 || seen[person] != 1 {
			t.Errorf("lag %v: 15 polls listed %s %d times and %s %d times, want each once", lag, own, seen[own], person, seen[person])
		}
	}
}

// TestDCPagingWhileUpdating: offset paging on Data Center shifts rows when
// an issue is updated between two pages; the overlapping pages must not
// lose the row that moved into the previous page.
func TestDCPagingWhileUpdating(t *testing.T) {
	e := newEnv(t, jirafake.Options{Flavor: jirafake.DataCenter, PageSize: 10}, nil)
	var want []string
	for i := range 35 {
		want = append(want, e.create(t, "", "paged").Ref.Key)
		if i%5 == 0 {
			e.fake.Advance(time.Second)
		}
	}
	moved := false
	e.rec.after = func(q recorded) {
		if !moved && strings.HasSuffix(q.Path, "/search") {
			moved = true
			_ = e.fake.EditTitle(want[1], "edited between two pages")
		}
	}
	ch, err := e.c.Changes(ctxT(t), "")
	e.rec.after = nil
	if err != nil {
		t.Fatalf("Changes: %v", err)
	}
	got := keys(ch.Items)
	for _, k := range want {
		if !slices.Contains(got, k) {
			t.Errorf("Changes while an issue moved: %s missing from %v", k, got)
		}
	}
}

// TestSearchEndpoints: Cloud uses /search/jql (the old /search is 410 Gone
// there) with explicit fields; Data Center uses /search with startAt.
func TestSearchEndpoints(t *testing.T) {
	for _, fl := range flavors {
		e := newEnv(t, jirafake.Options{Flavor: fl}, nil)
		e.create(t, "", "x")
		n := e.rec.count()
		if _, err := e.c.Changes(ctxT(t), ""); err != nil {
			t.Fatalf("%s: Changes: %v", fl, err)
		}
		reqs := e.rec.since(n)
		jql, old := matching(reqs, "POST", "/search/jql"), matching(reqs, "GET", "/rest/api/2/search")
		switch fl {
		case jirafake.Cloud:
			if len(jql) != 1 || len(old) != 0 || !strings.Contains(jql[0].Body, `"fields":["summary"`) {
				t.Errorf("cloud: got %v, want one POST /search/jql with fields", reqs)
			}
		default:
			if len(old) != 1 || len(jql) != 0 || !strings.Contains(old[0].Query, "fields=summary") {
				t.Errorf("datacenter: got %v, want one GET /search with fields", reqs)
			}
		}
	}
}
