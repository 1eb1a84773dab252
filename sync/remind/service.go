package remind

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pmsync/pmsync/store"
)

// Store is everything the reminder service reads and records. *store.DB
// implements it.
type Store interface {
	Source
	SendStore
}

var _ Store = (*store.DB)(nil)

// DigestJob is one digest schedule: who it is for, when, and to whom it
// goes.
type DigestJob struct {
	// ID names the job in send keys and state: the customer id, or
	// "platform". It must not change once digests were sent.
	ID         string
	Audience   Audience
	Schedule   *Schedule
	Recipients []Recipient
}

// Options configure a Service.
type Options struct {
	Store   Store
	Builder *Builder
	Jobs    []DigestJob
	// Reminders, when set, comments on overdue critical items.
	Reminders *Reminders
	Clock     Clock // nil: SystemClock
	Retry     Retry
	Logger    *slog.Logger
	Metrics   MetricsHook
}

// Service runs the digest and reminder schedules. Each (schedule,
// period, recipient) is claimed in the store before anything is rendered
// or delivered and recorded after, so a crash never sends twice: a claim
// left pending is reported in Status and repeated only for recipients
// whose Guarantee is AtLeastOnce.
type Service struct {
	db   Store
	b    *Builder
	jobs []job
	// digestJobs are the configured digests, for SendNow.
	digestJobs []DigestJob
	clock      Clock
	log        *slog.Logger
	status     *statusBook
	send       *sender
	runMu      sync.Mutex // one job run at a time (scheduler and SendNow)
}

// job is a schedule and what to do at each firing.
type job struct {
	id       string
	customer string // for store scoping; "" for the platform team
	schedule *Schedule
	run      func(ctx context.Context, period, since time.Time) error
}

// New checks o and builds a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil || o.Builder == nil {
		return nil, errors.New("remind: Store and Builder are required")
	}
	if err := o.Builder.Policy.Validate(); err != nil {
		return nil, err
	}
	if o.Clock == nil {
		o.Clock = SystemClock()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{db: o.Store, b: o.Builder, clock: o.Clock, log: o.Logger.With("component", "remind")}
	s.status = newStatusBook(o.Clock.Now, o.Metrics)
	s.send = &sender{db: o.Store, clock: o.Clock, retry: o.Retry, log: s.log, status: s.status}
	seen := map[string]bool{}
	for _, j := range o.Jobs {
		if err := s.addDigestJob(j, seen); err != nil {
			return nil, err
		}
	}
	if o.Reminders != nil {
		if err := s.addReminders(o.Reminders, seen); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Service) addDigestJob(j DigestJob, seen map[string]bool) error {
	if j.ID == "" || j.Schedule == nil {
		return fmt.Errorf("remind: digest job %q: an id and a schedule are required", j.ID)
	}
	if seen["digest/"+j.ID] {
		return fmt.Errorf("remind: digest job %q configured twice", j.ID)
	}
	seen["digest/"+j.ID] = true
	if j.Audience.Customer == "" && !j.Audience.Platform {
		return fmt.Errorf("remind: digest job %q: audience names neither a customer nor the platform", j.ID)
	}
	for _, r := range j.Recipients {
		if r.ID == "" || r.Deliverer == nil {
			return fmt.Errorf("remind: digest job %q: a recipient without id or deliverer", j.ID)
		}
	}
	customer := j.Audience.Customer
	if j.Audience.Platform {
		customer = ""
	}
	jj := j
	s.digestJobs = append(s.digestJobs, j)
	s.jobs = append(s.jobs, job{id: "digest/" + j.ID, customer: customer, schedule: j.Schedule,
		run: func(ctx context.Context, period, since time.Time) error {
			return s.runDigest(ctx, jj, "digest/"+jj.ID+"/"+periodKey(period), since)
		}})
	return nil
}

// periodKey is the period part of a send key: the firing time in UTC.
func periodKey(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// jobState is what the scheduler remembers per job.
type jobState struct {
	// LastPeriod is the last firing handled, or the moment the job was
	// first seen (no digest is sent for the time before pmsync ran).
	LastPeriod time.Time `json:"last_period"`
	// LastSent is the last firing for which a digest was delivered or
	// attempted: the start of the next digest's "closed since".
	LastSent time.Time `json:"last_sent,omitempty"`
}

func stateName(jobID string) string { return "remind/" + jobID }

func (s *Service) loadState(id string) (jobState, bool, error) {
	var st jobState
	v, err := s.db.GetState(stateName(id))
	if errors.Is(err, store.ErrNotFound) {
		return st, false, nil
	}
	if err != nil {
		return st, false, err
	}
	if err := json.Unmarshal(v, &st); err != nil {
		return st, false, fmt.Errorf("remind: state of %s: %w", id, err)
	}
	return st, true, nil
}

func (s *Service) saveState(id string, st jobState) error {
	v, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return s.db.PutState(stateName(id), v)
}

// Run runs the schedules until ctx ends. At start it sends, once, the
// latest period of each schedule that passed while pmsync was down (not a
// backlog of them). It returns nil when ctx ends, or an error when the
// store cannot be read at start.
func (s *Service) Run(ctx context.Context) error {
	s.log.Info("reminder schedules started", "jobs", len(s.jobs))
	if err := s.tick(ctx, true); err != nil {
		return err
	}
	for {
		next := s.nextFiring()
		if next.IsZero() {
			<-ctx.Done()
			return nil
		}
		t := s.clock.NewTimer(next.Sub(s.clock.Now()))
		select {
		case <-ctx.Done():
			t.Stop()
			s.log.Info("reminder schedules stopped")
			return nil
		case <-t.C():
		}
		if err := s.tick(ctx, false); err != nil {
			s.log.Error("reminder schedules: read state", "err", err)
		}
	}
}

// tick runs every job whose latest firing is due and not yet handled. At
// start it also runs the current period once more when it was handled
// already, so that its failed sends are retried (sent and pending ones are
// skipped by their records).
func (s *Service) tick(ctx context.Context, start bool) error {
	for _, j := range s.jobs {
		if ctx.Err() != nil {
			return nil
		}
		if err := s.tickJob(ctx, j, start); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) tickJob(ctx context.Context, j job, start bool) error {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	now := s.clock.Now()
	st, ok, err := s.loadState(j.id)
	if err != nil {
		return fmt.Errorf("remind: load state of %s: %w", j.id, err)
	}
	if !ok {
		// First sight of this schedule: start counting from now.
		st.LastPeriod = now
		s.publishJob(j, st)
		return s.saveState(j.id, st)
	}
	period := j.schedule.Latest(st.LastPeriod, now)
	since := st.LastSent
	if period.IsZero() && start && !st.LastSent.IsZero() && j.schedule.Next(st.LastSent).After(now) {
		period, since = st.LastSent, time.Time{} // retry the current period's failed sends
	}
	if period.IsZero() {
		s.publishJob(j, st)
		return nil
	}
	if since.IsZero() {
		if since = j.schedule.Prev(period.Add(-time.Second)); since.IsZero() {
			since = period.Add(-7 * day)
		}
	}
	log := s.log.With("job", j.id, "period", periodKey(period))
	log.Info("digest period due", "late", now.Sub(period).Round(time.Second).String())
	if err := s.safeRun(ctx, j, period, since); err != nil {
		log.Error("reminder job failed", "err", err)
	}
	if ctx.Err() != nil {
		return nil // stopped mid-run: handle the period again at next start
	}
	st.LastPeriod, st.LastSent = period, period
	s.publishJob(j, st)
	return s.saveState(j.id, st)
}

// safeRun runs a job, turning a panic into an error so that one broken
// digest does not stop the schedules.
func (s *Service) safeRun(ctx context.Context, j job, period, since time.Time) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("remind: %s panicked: %v", j.id, r)
		}
	}()
	return j.run(ctx, period, since)
}

func (s *Service) publishJob(j job, st jobState) {
	s.status.setJob(JobStatus{ID: j.id, Schedule: j.schedule.String(), LastPeriod: st.LastPeriod, Next: j.schedule.Next(st.LastPeriod)})
}

// nextFiring is the earliest next firing over all jobs.
func (s *Service) nextFiring() time.Time {
	now := s.clock.Now()
	var next time.Time
	for _, j := range s.jobs {
		n := j.schedule.Next(now)
		if !n.IsZero() && (next.IsZero() || n.Before(next)) {
			next = n
		}
	}
	return next
}

// Status reports the schedules and the sends that failed or whose outcome
// is unknown, including those left by earlier runs.
func (s *Service) Status() (Status, error) {
	var customers []string
	for _, c := range s.b.Customers {
		customers = append(customers, c.ID)
	}
	return s.status.snapshot(s.db, customers)
}
