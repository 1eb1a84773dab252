package githubfake_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pmsync/pmsync/connectors/github/githubfake"
)

// TestSecondaryHourLimit: the hourly cap on content creation refuses the
// creation that would exceed it, with a Retry-After until the oldest
// creation of the hour leaves it, in both forms.
func TestSecondaryHourLimit(t *testing.T) {
	for _, status := range []int{403, 429} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			a := newAPI(t, githubfake.Options{SecondaryPerHour: 3, SecondaryStatus: status})
			// Creations at 09:00, 09:10 and 09:20; the fourth is asked at 09:30.
			a.create("one", nil)
			a.f.Advance(10 * time.Minute)
			a.want(a.do("POST", "/repos/acme/widgets/issues/1/comments", map[string]any{"body": "c"}), 201)
			a.f.Advance(10 * time.Minute)
			a.create("three", nil)
			a.f.Advance(10 * time.Minute)
			ans := a.want(a.do("POST", "/repos/acme/widgets/issues", map[string]any{"title": "four"}), status)
			if got, want := ans.header.Get("Retry-After"), "1800"; got != want {
				t.Errorf("Retry-After: got %q, want %q (until 10:00, when the 09:00 creation leaves the hour)", got, want)
			}
			a.want(a.do("POST", "/repos/acme/widgets/issues/1/comments", map[string]any{"body": "c"}), status)
			a.want(a.do("PATCH", "/repos/acme/widgets/issues/1", map[string]any{"title": "edits are not content creation"}), 200)
			a.f.Advance(30*time.Minute - time.Second)
			a.want(a.do("POST", "/repos/acme/widgets/issues", map[string]any{"title": "four"}), status)
			a.f.Advance(time.Second)
			a.create("four", nil)
			if got := a.f.Stats(); got.SecondaryLimited != 3 || got.ContentCreates != 4 {
				t.Errorf("stats: got %d refusals and %d creations, want 3 and 4", got.SecondaryLimited, got.ContentCreates)
			}
		})
	}
}

// TestSecondaryLimitsDefaultAndOff: by default the hour allows 500
// creations (the minute cap is moved out of the way); a negative
// SecondaryPerMinute turns both caps off.
func TestSecondaryLimitsDefaultAndOff(t *testing.T) {
	tests := []struct {
		name    string
		o       githubfake.Options
		refused int
	}{
		{"hour cap 500 by default", githubfake.Options{SecondaryPerMinute: 1000}, 1},
		{"both off", githubfake.Options{SecondaryPerMinute: -1}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAPI(t, tc.o)
			for i := range 501 {
				ans := a.do("POST", "/repos/acme/widgets/issues", map[string]any{"title": fmt.Sprint("n", i)})
				if ans.status != 201 && i < 500 {
					t.Fatalf("creation %d: got %d, want 201", i+1, ans.status)
				}
			}
			if got := a.f.Stats().SecondaryLimited; got != tc.refused {
				t.Errorf("refusals after 501 creations in a minute: got %d, want %d", got, tc.refused)
			}
		})
	}
}

// TestCommentCountInAnswers: the `comments` field of get, list, edit and
// search answers is the number of the comments, whoever wrote
// them.
func TestCommentCountInAnswers(t *testing.T) {
	a := newAPI(t, githubfake.Options{})
	a.create("none", nil)
	a.create("three", nil)
	for range 2 {
		a.want(a.do("POST", "/repos/acme/widgets/issues/2/comments", map[string]any{"body": "c"}), 201)
	}
	if err := a.f.AddComment("acme/widgets#2", "a-person", "by hand", false); err != nil {
		t.Fatal(err)
	}
	count := func(v any) float64 { return v.(map[string]any)["comments"].(float64) }
	if got := count(a.want(a.do("GET", "/repos/acme/widgets/issues/2", nil), 200).body); got != 3 {
		t.Errorf("get #2: comments %v, want 3", got)
	}
	if got := count(a.want(a.do("GET", "/repos/acme/widgets/issues/1", nil), 200).body); got != 0 {
		t.Errorf("get #1: comments %v, want 0", got)
	}
	if got := count(a.want(a.do("PATCH", "/repos/acme/widgets/issues/2", map[string]any{"title": "x"}), 200).body); got != 3 {
		t.Errorf("edit #2: comments %v, want 3", got)
	}
	list := a.want(a.do("GET", "/repos/acme/widgets/issues?state=all", nil), 200).body.([]any)
	want := map[float64]float64{1: 0, 2: 3}
	for _, it := range list {
		n := it.(map[string]any)["number"].(float64)
		if got := count(it); got != want[n] {
			t.Errorf("list, #%v: comments %v, want %v", n, got, want[n])
		}
	}
	if len(list) != 2 {
		t.Errorf("list: got %d issues, want 2", len(list))
	}
}

// TestFollowsNow: with Options.Now the fake's clock is the caller's (plus
// any Advance), so a test clock can drive both sides.
func TestFollowsNow(t *testing.T) {
	var mu sync.Mutex
	now := t0.Add(5 * time.Hour)
	f, err := githubfake.New(githubfake.Options{Token: token, Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Now(); !got.Equal(now) {
		t.Errorf("Now: got %v, want %v", got, now)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	f.Advance(time.Second)
	if got, want := f.Now(), t0.Add(5*time.Hour+time.Minute+time.Second); !got.Equal(want) {
		t.Errorf("Now after the clock moved and Advance: got %v, want %v", got, want)
	}
}
