package remind

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors"
)

// commentLog is a Commenter that keeps every comment.
type commentLog struct {
	mu       sync.Mutex
	comments []postedComment
	err      error
}

type postedComment struct{ tracker, key, marker, body string }

func (c *commentLog) AddComment(_ context.Context, tracker, key, marker, body string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	c.comments = append(c.comments, postedComment{tracker, key, marker, body})
	return nil
}

func (c *commentLog) all() []postedComment {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]postedComment(nil), c.comments...)
}

var testMarkerKey = []byte("test-marker-key")

// TestOverdueReminders runs a daily reminder schedule for two weeks: every
// overdue critical item gets exactly one comment per week, in its owner's
// tracker, carrying a marker; a platform item shared with two customers is
// reminded once, not once per customer.
func TestOverdueReminders(t *testing.T) {
	db, b := openScenario(t)
	clk := newFakeClock(time.Date(2025, 3, 23, 12, 0, 0, 0, time.UTC)) // Sunday
	log := &commentLog{}
	rem := &Reminders{Commenter: log, MarkerKey: testMarkerKey, Schedule: mustSchedule(t, "0 8 * * *")}
	startService(t, newService(t, db, b, clk, nil, rem))
	runUntil(t, clk, time.Date(2025, 4, 6, 12, 0, 0, 0, time.UTC)) // two ISO weeks: W13, W14
	got := map[string]int{}
	for _, c := range log.all() {
		got[c.tracker+" "+c.key]++
		if !connectors.ValidMarker(c.marker) {
			t.Errorf("comment on %s has marker %q, want a valid marker", c.key, c.marker)
		}
		if c.tracker != "platform" {
			assertNoCanary(t, "reminder in "+c.tracker, c.body, []string{"PLAT-", "jira.example.com", "INTERNAL-CANARY", "alice.sre"})
		}
		if !strings.Contains(c.body, "overdue") {
			t.Errorf("reminder body %q does not say overdue", c.body)
		}
	}
	want := map[string]int{
		"platform PLAT-101":   2, // shared with JaneCorp and Globex, platform-owned: once a week
		"globex globex/sre#9": 2, // customer-owned P0, overdue since March 1st
		// customer-owned P1 due March 31st: overdue from April 1st, in W14 only
		"janecorp janecorp/reliability#7": 1,
	}
	if len(got) != len(want) {
		t.Errorf("reminded items: got %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d reminders, want %d", k, got[k], n)
		}
	}
	// The marker is the HMAC over the item and the week, so the engine
	// and a rebuild recognise it.
	first := log.all()[0]
	week := isoWeek(time.Date(2025, 3, 24, 8, 0, 0, 0, time.UTC))
	if wantM := connectors.MarkerID(testMarkerKey, "reminder", first.tracker+":"+first.key, week); first.marker != wantM {
		t.Errorf("marker: got %s, want %s", first.marker, wantM)
	}
}

func TestReminderBody(t *testing.T) {
	v := ItemView{Priority: "P1", Incident: "INC-2041", Assessment: Assessment{Due: "2025-03-14", Overdue: true, DaysOverdue: 10}}
	want := "**Reminder:** this P1 action item was due on 2025-03-14 and is 10 days overdue. It follows up incident INC-2041. " +
		"Please close it, or update its due date if the plan changed.\n\n_pmsync posts this reminder at most once a week while the item is overdue._"
	if got := reminderBody(v); got != want {
		t.Errorf("reminderBody:\n got %q\nwant %q", got, want)
	}
}

// TestReminderCommentErrors: a lost answer is maybe-delivered (never
// repeated), a permission error permanent.
func TestReminderCommentErrors(t *testing.T) {
	tests := []struct {
		err            error
		permanent      bool
		maybeDelivered bool
	}{
		{&connectors.Error{Code: connectors.CodePermission, Op: "github: add comment"}, true, false},
		{&connectors.Error{Code: connectors.CodeTemporary, Op: "github: add comment"}, false, true},
		{&connectors.Error{Code: connectors.CodeRateLimited, Op: "github: add comment"}, false, false},
	}
	for _, tc := range tests {
		d := &commentDeliverer{c: &commentLog{err: tc.err}, tracker: "janecorp", key: "o/r#1"}
		err := d.Deliver(context.Background(), &Message{Text: "x"})
		if IsPermanent(err) != tc.permanent || IsMaybeDelivered(err) != tc.maybeDelivered {
			t.Errorf("%v: permanent %v maybe %v, want %v %v", tc.err, IsPermanent(err), IsMaybeDelivered(err), tc.permanent, tc.maybeDelivered)
		}
	}
}
