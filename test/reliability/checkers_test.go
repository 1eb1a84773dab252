package reliability

import (
	"context"
	"strings"
	"testing"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/memory"
	"github.com/pmsync/pmsync/sync/engine"
)

// TestCheckersCatchViolations proves the invariant checks the model and
// crash tests rely on do fail: a planted duplicate mirror, a duplicate
// mirrored comment, leaked canaries, and a link whose sides disagree.
func TestCheckersCatchViolations(t *testing.T) {
	w := NewMemWorld(t, NewClock(memory.Epoch, true), "acme", "beta")
	key := w.Platform.Open("plat item 1", "## Customer summary\nshared", ActionLabel, "customer:acme")
	if err := w.Converge(context.Background(), 5); err != nil {
		t.Fatalf("Converge: %v", err)
	}
	if v := CheckMemWorld(w); len(v) != 0 {
		t.Fatalf("clean world: got violations %q, want none", v)
	}
	if v := memConverged(w); len(v) != 0 {
		t.Fatalf("clean world: got convergence violations %q, want none", v)
	}
	links, err := w.DB.Links("acme")
	if err != nil || len(links) != 1 {
		t.Fatalf("Links(acme) = %d links, %v; want 1", len(links), err)
	}
	mirror := links[0].Remote.Ref.Key
	acme := w.Customers["acme"]

	tests := []struct {
		name  string
		plant func()
		check func() []string
		want  string
	}{
		{"duplicate mirror", func() {
			is, _ := acme.Issue(mirror)
			acme.Open(is.Title, is.Body)
		}, func() []string { return CheckMemWorld(w) }, "on 2 items"},
		{"duplicate comment", func() {
			body := connectors.EmbedMarker("mirrored", "abc123")
			_ = acme.AddComment(mirror, "pmsync", body, false)
			_ = acme.AddComment(mirror, "pmsync", body, false)
		}, func() []string { return CheckMemWorld(w) }, "comment marker abc123 on 2 comments"},
		{"internal text at a customer", func() {
			_ = acme.AddComment(mirror, "x", "leak "+InternalCanary, false)
		}, func() []string { return CheckMemWorld(w) }, InternalCanary},
		{"another customer's text", func() {
			w.Customers["beta"].Open("stolen "+CustomerCanary("acme"), "")
		}, func() []string { return CheckMemWorld(w) }, CustomerCanary("acme")},
		{"restricted comment crossed", func() {
			_ = w.Platform.AddComment(key, "x", RestrictedCanaryOf("acme"), false)
		}, func() []string { return CheckMemWorld(w) }, RestrictedCanaryOf("acme")},
		{"titles differ", func() { _ = acme.EditTitle(mirror, "changed") },
			func() []string { return memConverged(w) }, "titles differ"},
		{"statuses differ", func() { _ = SetMemStatus(acme, mirror, connectors.StatusDone) },
			func() []string { return memConverged(w) }, "statuses differ"},
		{"shared item without link", func() {
			w.Platform.Open("new", "", ActionLabel, "customer:beta")
		}, func() []string { return memConverged(w) }, "has no link"},
	}
	for _, tc := range tests {
		tc.plant()
		got := strings.Join(tc.check(), "\n")
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s: violations %q do not mention %q", tc.name, got, tc.want)
		}
	}
	if got := ForbiddenIn(engine.PlatformID, w.IDs); strings.Contains(strings.Join(got, " "), InternalCanary) {
		t.Errorf("ForbiddenIn(platform) = %v: internal text belongs on the platform", got)
	}
}
