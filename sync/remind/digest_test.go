package remind

import (
	"context"
	"strings"
	"testing"
)

func TestDigestGolden(t *testing.T) {
	_, b := openScenario(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		a    Audience
	}{
		{"janecorp", Audience{Customer: "janecorp"}},
		{"platform", Audience{Platform: true}},
	} {
		d, err := b.Digest(ctx, tc.a, scenarioSince, scenarioNow)
		if err != nil {
			t.Fatalf("digest %s: %v", tc.name, err)
		}
		for _, f := range []Format{FormatText, FormatMarkdown, FormatHTML} {
			out, err := d.Render(f)
			if err != nil {
				t.Fatalf("render %s %s: %v", tc.name, f, err)
			}
			golden(t, "digest-"+tc.name+"."+string(f)+".golden", out)
			if !tc.a.Platform {
				assertNoCanary(t, "digest "+tc.name+" "+string(f), string(out), janeCanaries)
			}
		}
	}
}

func TestDigestSections(t *testing.T) {
	_, b := openScenario(t)
	d, err := b.Digest(context.Background(), Audience{Customer: "janecorp"}, scenarioSince, scenarioNow)
	if err != nil {
		t.Fatal(err)
	}
	titles := func(vs []ItemView) string {
		var s []string
		for _, v := range vs {
			s = append(s, v.Title)
		}
		return strings.Join(s, "; ")
	}
	if len(d.Incidents) != 1 || d.Incidents[0].Incident != "INC-2041" {
		t.Fatalf("incidents: got %+v, want just INC-2041", d.Incidents)
	}
	g := d.Incidents[0]
	checks := []struct{ what, got, want string }{
		{"platform-owned critical", titles(g.PlatformOwned), "add uncached-read latency tests; page on regional latency SLO"},
		{"customer-owned critical", titles(g.CustomerOwned), "dashboard for platform storage latency"},
		{"overdue", titles(d.Overdue), "add uncached-read latency tests"},
		{"stale", titles(d.Stale), "page on regional latency SLO; quarterly regional failover drill"},
		{"closed", titles(d.Closed), "document cache tiers"},
		{"broken", titles(d.Broken), ""},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.what, c.got, c.want)
		}
	}
	if len(d.Conflicts) != 1 || d.Conflicts[0].Item.Title != "add uncached-read latency tests" || strings.Join(d.Conflicts[0].Fields, ",") != "due" {
		t.Errorf("conflicts: got %+v, want one on the latency tests item, field due", d.Conflicts)
	}
	want := Counts{Open: 4, Critical: 3, Overdue: 1, Stale: 2, Closed: 1, Conflicts: 1}
	if d.Totals != want {
		t.Errorf("totals: got %+v, want %+v", d.Totals, want)
	}
	for _, v := range append(g.PlatformOwned, g.CustomerOwned...) {
		if len(v.Refs) != 1 || v.Refs[0].Side != "customer" {
			t.Errorf("item %s: customer view refs %+v, want only the customer's own", v.Title, v.Refs)
		}
	}
}

func TestDigestPlatformSummaries(t *testing.T) {
	_, b := openScenario(t)
	d, err := b.Digest(context.Background(), Audience{Platform: true}, scenarioSince, scenarioNow)
	if err != nil {
		t.Fatal(err)
	}
	want := []CustomerSummary{
		{Customer: Customer{ID: "janecorp", Name: "JaneCorp"}, Counts: Counts{Open: 4, Critical: 3, Overdue: 1, Stale: 2, Closed: 1, Conflicts: 1}},
		{Customer: Customer{ID: "globex", Name: "Globex"}, Counts: Counts{Open: 2, Critical: 2, Overdue: 2, Conflicts: 1, Broken: 1}},
	}
	if len(d.Summaries) != len(want) {
		t.Fatalf("summaries: got %d, want %d", len(d.Summaries), len(want))
	}
	for i := range want {
		if d.Summaries[i] != want[i] {
			t.Errorf("summary %d: got %+v, want %+v", i, d.Summaries[i], want[i])
		}
	}
	for _, v := range d.Overdue {
		if len(v.Refs) != 2 || v.Refs[0].Side != "platform" {
			t.Errorf("platform view of %s: refs %+v, want both sides", v.Title, v.Refs)
		}
	}
}

func TestDigestUnknownCustomer(t *testing.T) {
	_, b := openScenario(t)
	_, err := b.Digest(context.Background(), Audience{Customer: "initech"}, scenarioSince, scenarioNow)
	if err == nil || !strings.Contains(err.Error(), `"initech"`) {
		t.Errorf("got %v, want an error naming the customer", err)
	}
}
