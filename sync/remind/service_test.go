package remind

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmsync/pmsync/store"
)

// recorder is a Deliverer that notes the clock time of every delivery.
type recorder struct {
	clk Clock
	mu  sync.Mutex
	at  []time.Time
	key []string
}

func (r *recorder) Deliver(_ context.Context, m *Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.at = append(r.at, r.clk.Now())
	r.key = append(r.key, m.Key)
	return nil
}

func (r *recorder) times() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.at...)
}

// running is a Service running in the background on a fake clock.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

func startService(t *testing.T, s *Service) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx) }()
	t.Cleanup(r.stop)
	return r
}

func (r *running) stop() {
	r.cancel()
	<-r.done
	r.done <- nil // let a second stop return at once
}

// runUntil lets the service fire every timer up to end, one at a time.
func runUntil(t *testing.T, clk *fakeClock, end time.Time) {
	t.Helper()
	for {
		next := clk.waitTimer(t)
		if next.After(end) {
			clk.Set(end)
			clk.waitTimer(t) // the service is idle again
			return
		}
		clk.Set(next)
	}
}

func recJob(t *testing.T, id string, a Audience, spec string, rec *recorder) DigestJob {
	return DigestJob{ID: id, Audience: a, Schedule: mustSchedule(t, spec),
		Recipients: []Recipient{{ID: "email:leads@" + id + ".example", Channel: "email", Guarantee: AtMostOnce, Deliverer: rec}}}
}

// TestWeeklyDigestAcrossDST runs a Monday 09:00 New York digest for six
// weeks across each DST change: exactly one digest per week, each at 09:00
// local time.
func TestWeeklyDigestAcrossDST(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	for _, tc := range []struct {
		name       string
		start, end time.Time
	}{
		{"march", time.Date(2025, 2, 20, 12, 0, 0, 0, ny), time.Date(2025, 4, 3, 12, 0, 0, 0, ny)},
		{"november", time.Date(2025, 10, 16, 12, 0, 0, 0, ny), time.Date(2025, 11, 27, 12, 0, 0, 0, ny)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, b := openScenario(t)
			clk := newFakeClock(tc.start)
			rec := &recorder{clk: clk}
			s := newService(t, db, b, clk, []DigestJob{recJob(t, "janecorp", Audience{Customer: "janecorp"}, "CRON_TZ=America/New_York 0 9 * * MON", rec)}, nil)
			startService(t, s)
			runUntil(t, clk, tc.end)
			got := rec.times()
			if len(got) != 6 {
				t.Fatalf("digests: got %d (%v), want 6", len(got), got)
			}
			for i, at := range got {
				l := at.In(ny)
				if l.Weekday() != time.Monday || l.Hour() != 9 || l.Minute() != 0 {
					t.Errorf("digest %d at %v, want Monday 09:00 New York", i, l)
				}
				if i > 0 && at.Sub(got[i-1]) < 6*day {
					t.Errorf("digests %d and %d only %v apart", i-1, i, at.Sub(got[i-1]))
				}
			}
		})
	}
}

// TestDailyDigestDSTGapAndRepeat: a digest at 02:30 (missing on the
// spring-forward day) and one at 01:30 (twice on the fall-back day) each
// fire once per local day.
func TestDailyDigestDSTGapAndRepeat(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	for _, tc := range []struct {
		spec       string
		start, end time.Time
	}{
		{"CRON_TZ=America/New_York 30 2 * * *", time.Date(2025, 3, 6, 12, 0, 0, 0, ny), time.Date(2025, 3, 12, 12, 0, 0, 0, ny)},
		{"CRON_TZ=America/New_York 30 1 * * *", time.Date(2025, 10, 30, 12, 0, 0, 0, ny), time.Date(2025, 11, 5, 12, 0, 0, 0, ny)},
	} {
		db, b := openScenario(t)
		clk := newFakeClock(tc.start)
		rec := &recorder{clk: clk}
		s := newService(t, db, b, clk, []DigestJob{recJob(t, "janecorp", Audience{Customer: "janecorp"}, tc.spec, rec)}, nil)
		r := startService(t, s)
		runUntil(t, clk, tc.end)
		r.stop()
		perDay := map[string]int{}
		for _, at := range rec.times() {
			perDay[at.In(ny).Format(dateLayout)]++
		}
		for d := tc.start.AddDate(0, 0, 1); d.Before(tc.end); d = d.AddDate(0, 0, 1) {
			if n := perDay[d.Format(dateLayout)]; n != 1 {
				t.Errorf("%s: %s had %d digests, want 1", tc.spec, d.Format(dateLayout), n)
			}
		}
	}
}

// TestMissedDigestSentOnceAtStart: pmsync is down from Saturday to the
// Thursday after a Monday digest: at start the missed digest goes out
// once, and the next Monday's as usual. Down for three weeks, only the
// latest missed digest goes out, not a backlog.
func TestMissedDigestSentOnceAtStart(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	for _, tc := range []struct {
		name     string
		downFor  time.Duration
		wantLate time.Time // the period sent at start
	}{
		{"three days", 5 * day, time.Date(2025, 3, 10, 9, 0, 0, 0, ny)},
		{"three weeks", 19 * day, time.Date(2025, 3, 24, 9, 0, 0, 0, ny)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, b := openScenario(t)
			start := time.Date(2025, 3, 1, 12, 0, 0, 0, ny) // Saturday
			clk := newFakeClock(start)
			rec := &recorder{clk: clk}
			job := recJob(t, "janecorp", Audience{Customer: "janecorp"}, "CRON_TZ=America/New_York 0 9 * * MON", rec)
			r := startService(t, newService(t, db, b, clk, []DigestJob{job}, nil))
			runUntil(t, clk, time.Date(2025, 3, 8, 12, 0, 0, 0, ny)) // one Monday, then the next Saturday
			r.stop()
			if n := len(rec.times()); n != 1 {
				t.Fatalf("before the outage: %d digests, want 1", n)
			}
			clk.Set(clk.Now().Add(tc.downFor)) // down: no process, no timers
			r = startService(t, newService(t, db, b, clk, []DigestJob{job}, nil))
			clk.waitTimer(t) // start-up done, waiting for the next Monday
			got := rec.times()
			if len(got) != 2 {
				t.Fatalf("after restart: %d digests in total, want 2", len(got))
			}
			if want := "digest/janecorp/" + periodKey(tc.wantLate) + "/email:leads@janecorp.example"; rec.key[1] != want {
				t.Errorf("late digest key: got %s, want %s", rec.key[1], want)
			}
			runUntil(t, clk, clk.Now().Add(7*day))
			if n := len(rec.times()); n != 3 {
				t.Errorf("a week after restart: %d digests, want 3", n)
			}
			r.stop()
		})
	}
}

// crashingMailer hands the message to the real SMTP server and then
// "dies": it never returns until the process is stopped, so FinishSend is
// never called, exactly as after a kill between delivery and recording.
type crashingMailer struct {
	d       Deliverer
	handed  chan struct{}
	crashed bool
}

func (c *crashingMailer) Deliver(ctx context.Context, m *Message) error {
	if err := c.d.Deliver(ctx, m); err != nil {
		return err
	}
	close(c.handed)
	<-ctx.Done()
	return ctx.Err()
}

// TestCrashBetweenClaimAndRecordNeverSendsTwice covers both crash points
// with a real SMTP server and a store closed and reopened in between:
// killed after the claim but before anything was rendered, and killed
// after the message was handed over but before the outcome was recorded.
// Neither restart sends a second e-mail; both leave a visible trace.
func TestCrashBetweenClaimAndRecordNeverSendsTwice(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	monday := time.Date(2025, 3, 10, 9, 0, 0, 0, ny)
	spec := "CRON_TZ=America/New_York 0 9 * * MON"
	addr := "sre-leads@janecorp.example"
	key := "digest/janecorp/" + periodKey(monday) + "/email:" + addr

	for _, crashAfterSend := range []bool{false, true} {
		name := map[bool]string{false: "after claim", true: "after hand-over"}[crashAfterSend]
		t.Run(name, func(t *testing.T) {
			db, b := openScenario(t)
			path := db.Path()
			ms := startMailServer(t)
			clk := newFakeClock(time.Date(2025, 3, 8, 12, 0, 0, 0, ny))
			job := emailJob(t, ms, "janecorp", Audience{Customer: "janecorp"}, spec, addr)

			// First life: schedules seen on Saturday.
			r := startService(t, newService(t, db, b, clk, []DigestJob{job}, nil))
			clk.waitTimer(t)
			if crashAfterSend {
				cm := &crashingMailer{d: job.Recipients[0].Deliverer, handed: make(chan struct{})}
				job2 := job
				job2.Recipients = []Recipient{{ID: job.Recipients[0].ID, Channel: "email", Guarantee: AtMostOnce, Deliverer: cm}}
				r.stop()
				r = startService(t, newService(t, db, b, clk, []DigestJob{job2}, nil))
				clk.waitTimer(t)
				clk.Set(monday)
				<-cm.handed
			} else {
				// The claim is made, then the process dies before rendering.
				if _, started, err := db.BeginSend(key, "janecorp"); err != nil || !started {
					t.Fatalf("BeginSend: started %v, err %v", started, err)
				}
			}
			r.stop() // the "kill"
			if err := db.Close(); err != nil {
				t.Fatalf("close store: %v", err)
			}
			before := len(ms.messages())

			// Second life, Tuesday: a fresh process on the same file.
			clk.Set(monday.Add(day))
			db2, err := store.Open(path, store.Options{NoSync: true})
			if err != nil {
				t.Fatalf("reopen store: %v", err)
			}
			defer db2.Close()
			b2 := scenarioBuilder(db2)
			s2 := newService(t, db2, b2, clk, []DigestJob{job}, nil)
			r2 := startService(t, s2)
			clk.waitTimer(t)
			r2.stop()

			after := len(ms.messages())
			if after != before {
				t.Errorf("restart sent %d more e-mails, want 0", after-before)
			}
			wantTotal := map[bool]int{false: 0, true: 1}[crashAfterSend]
			if after != wantTotal {
				t.Errorf("e-mails in total: got %d, want %d", after, wantTotal)
			}
			rec, err := db2.Send(key)
			if err != nil || rec.State != store.SendPending {
				t.Fatalf("send record: got %+v, %v; want it still pending", rec, err)
			}
			st, err := s2.Status()
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Problems) != 1 || st.Problems[0].Key != key || st.Problems[0].Outcome != OutcomeUnknown {
				t.Errorf("status problems: got %+v, want the interrupted send as unknown", st.Problems)
			}
		})
	}
}

// TestAtLeastOnceRecipientResentAfterCrash: the chat recipient (at least
// once) of an interrupted period is delivered at restart, once.
func TestAtLeastOnceRecipientResentAfterCrash(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	monday := time.Date(2025, 3, 10, 9, 0, 0, 0, ny)
	db, b := openScenario(t)
	clk := newFakeClock(time.Date(2025, 3, 8, 12, 0, 0, 0, ny))
	rec := &recorder{clk: clk}
	job := DigestJob{ID: "janecorp", Audience: Audience{Customer: "janecorp"}, Schedule: mustSchedule(t, "CRON_TZ=America/New_York 0 9 * * MON"),
		Recipients: []Recipient{{ID: "chat", Channel: "chat", Guarantee: AtLeastOnce, Deliverer: rec}}}
	r := startService(t, newService(t, db, b, clk, []DigestJob{job}, nil))
	clk.waitTimer(t)
	r.stop()
	if _, _, err := db.BeginSend("digest/janecorp/"+periodKey(monday)+"/chat", "janecorp"); err != nil {
		t.Fatal(err)
	}
	clk.Set(monday.Add(time.Hour))
	r = startService(t, newService(t, db, b, clk, []DigestJob{job}, nil))
	clk.waitTimer(t)
	r.stop()
	if n := len(rec.times()); n != 1 {
		t.Errorf("chat deliveries after restart: got %d, want 1", n)
	}
}

// TestJobPanicDoesNotStopSchedules: a deliverer that panics is recovered;
// the other job still runs.
func TestJobPanicDoesNotStopSchedules(t *testing.T) {
	db, b := openScenario(t)
	clk := newFakeClock(time.Date(2025, 3, 8, 12, 0, 0, 0, time.UTC))
	rec := &recorder{clk: clk}
	bad := DigestJob{ID: "janecorp", Audience: Audience{Customer: "janecorp"}, Schedule: mustSchedule(t, "0 9 * * MON"),
		Recipients: []Recipient{{ID: "chat", Channel: "chat", Deliverer: panicker{}}}}
	good := recJob(t, "platform", Audience{Platform: true}, "0 9 * * MON", rec)
	startService(t, newService(t, db, b, clk, []DigestJob{bad, good}, nil))
	runUntil(t, clk, time.Date(2025, 3, 18, 0, 0, 0, 0, time.UTC))
	if n := len(rec.times()); n != 2 {
		t.Errorf("platform digests over two Mondays: got %d, want 2", n)
	}
}

type panicker struct{}

func (panicker) Deliver(context.Context, *Message) error { panic("deliverer bug") }

func TestNewServiceErrors(t *testing.T) {
	_, b := openScenario(t)
	db, err := store.Open(filepath.Join(t.TempDir(), "x.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sched := mustSchedule(t, "0 9 * * MON")
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"no store", Options{Builder: b}, "Store and Builder"},
		{"no schedule", Options{Store: db, Builder: b, Jobs: []DigestJob{{ID: "janecorp", Audience: Audience{Customer: "janecorp"}}}}, "schedule"},
		{"twice", Options{Store: db, Builder: b, Jobs: []DigestJob{{ID: "x", Audience: Audience{Platform: true}, Schedule: sched}, {ID: "x", Audience: Audience{Platform: true}, Schedule: sched}}}, "twice"},
		{"no audience", Options{Store: db, Builder: b, Jobs: []DigestJob{{ID: "x", Schedule: sched}}}, "audience"},
		{"reminders without commenter", Options{Store: db, Builder: b, Reminders: &Reminders{Schedule: sched}}, "Commenter"},
	}
	for _, tc := range tests {
		_, err := New(tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := (&Service{}).SendNow(context.Background(), Audience{Customer: "nobody"}); err == nil {
		t.Errorf("SendNow without a job: got nil error")
	}
}

// flaky fails permanently while down is set, then delivers.
type flaky struct {
	mu    sync.Mutex
	down  bool
	calls int
}

func (f *flaky) Deliver(context.Context, *Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.down {
		return Permanent(errors.New("mailbox unavailable"))
	}
	return nil
}

// TestRestartRetriesFailedSendOfCurrentPeriod: a send that failed in the
// current period is retried once at the next start; sent ones are not.
func TestRestartRetriesFailedSendOfCurrentPeriod(t *testing.T) {
	db, b := openScenario(t)
	clk := newFakeClock(time.Date(2025, 3, 8, 12, 0, 0, 0, time.UTC))
	bad := &flaky{down: true}
	good := &recorder{clk: clk}
	job := DigestJob{ID: "janecorp", Audience: Audience{Customer: "janecorp"}, Schedule: mustSchedule(t, "0 9 * * MON"),
		Recipients: []Recipient{
			{ID: "email:a@janecorp.example", Channel: "email", Deliverer: bad},
			{ID: "email:b@janecorp.example", Channel: "email", Deliverer: good},
		}}
	r := startService(t, newService(t, db, b, clk, []DigestJob{job}, nil))
	runUntil(t, clk, time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC))
	r.stop()
	if bad.calls != 1 || len(good.times()) != 1 {
		t.Fatalf("first run: %d attempts to a, %d deliveries to b; want 1 and 1", bad.calls, len(good.times()))
	}
	bad.mu.Lock()
	bad.down = false
	bad.mu.Unlock()
	clk.Set(time.Date(2025, 3, 11, 12, 0, 0, 0, time.UTC))
	r = startService(t, newService(t, db, b, clk, []DigestJob{job}, nil))
	clk.waitTimer(t)
	r.stop()
	if bad.calls != 2 || len(good.times()) != 1 {
		t.Errorf("after restart: %d attempts to a, %d deliveries to b; want 2 and still 1", bad.calls, len(good.times()))
	}
	rec, err := db.Send("digest/janecorp/2025-03-10T09:00:00Z/email:a@janecorp.example")
	if err != nil || rec.State != store.SendSent {
		t.Errorf("record of a: got %+v, %v; want sent", rec, err)
	}
}
