package demo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/gitlab/gitlabfake"
	"github.com/pmsync/pmsync/store"
	"github.com/pmsync/pmsync/sync/engine/scenario"
	"github.com/pmsync/pmsync/sync/remind"
)

// step is one beat of the story: people do something in their trackers,
// and pmsync is expected to bring the other side in step.
type step struct {
	Say    string                          // what the people do
	Act    func(ctx context.Context) error // doing it
	Expect string                          // what pmsync should do, in plain words
	// Check returns nil once the expected state is reached, else what is
	// still missing.
	Check func(ctx context.Context) error
}

// The comments of the story.
const (
	sharedComment   = "[customer] Latency tests run in staging now; production rollout on Thursday."
	internalComment = "Canary blocked by cache node 7 again; keep this between us."
	customerComment = "Which regional latency threshold pages your on-call?"
)

// story returns the scripted story over the seeded incident.
func (d *Demo) story(sd *seeded) []step {
	return []step{
		{
			Say:    fmt.Sprintf("Priya (Example Cloud SRE) files three postmortem action items in Jira (%s, %s, %s); JaneCorp opens one on GitHub, Acme Analytics one on GitLab.", sd.tests, sd.paging, sd.docs),
			Expect: "pmsync mirrors each shared Jira item into the customers' trackers and each customer item into Jira: 7 links, each mirror with its origin's title, only the customer summary of descriptions crossing.",
			Check:  func(ctx context.Context) error { return d.checkMirrored(ctx, sd) },
		},
		{
			Say:    fmt.Sprintf("Priya starts work on %s: Jira status In Progress.", sd.tests),
			Act:    func(context.Context) error { return d.sims.Jira.Transition(sd.tests, "In Progress", "") },
			Expect: "pmsync marks JaneCorp's GitHub copy and Acme's GitLab copy in progress.",
			Check: func(ctx context.Context) error {
				return d.checkMirrorStatus(ctx, sd.tests, connectors.StatusInProgress)
			},
		},
		{
			Say: fmt.Sprintf("Priya comments on %s for customers (%q) and leaves an internal note.", sd.tests, sharedComment),
			Act: func(context.Context) error {
				if err := d.sims.Jira.AddComment(sd.tests, "priya", sharedComment, false); err != nil {
					return err
				}
				return d.sims.Jira.AddComment(sd.tests, "priya", internalComment, false)
			},
			Expect: "pmsync copies the [customer] comment to both customers, attributed to Example Cloud; the internal note stays in Jira.",
			Check: func(ctx context.Context) error {
				return d.checkMirrorComment(ctx, sd.tests, "Latency tests run in staging now", "Example Cloud", "cache node 7")
			},
		},
		{
			Say: fmt.Sprintf("Jane at JaneCorp asks on GitHub, on her copy of %s: %q", sd.paging, customerComment),
			Act: func(ctx context.Context) error {
				key, err := d.mirrorKey(sd.paging, "janecorp")
				if err != nil {
					return err
				}
				return d.sims.GitHub.AddComment(key, "jane", customerComment, false)
			},
			Expect: fmt.Sprintf("pmsync copies the question into Jira %s, attributed to JaneCorp.", sd.paging),
			Check: func(ctx context.Context) error {
				return d.checkPlatformComment(ctx, sd.paging, "Which regional latency threshold", "JaneCorp")
			},
		},
		{
			Say:    fmt.Sprintf("JaneCorp finishes %q and closes %s on GitHub.", TitleDashboard, sd.dashboard),
			Act:    func(context.Context) error { return d.sims.GitHub.SetState(sd.dashboard, "closed", "completed") },
			Expect: "pmsync moves the Jira copy to Done: JaneCorp owns that item, so its status wins.",
			Check: func(ctx context.Context) error {
				return d.checkMirrorStatusOf(ctx, sd.dashboard, "janecorp", connectors.StatusDone)
			},
		},
		{
			Say: fmt.Sprintf("Acme Analytics starts the %s (%s, label status::in-progress on GitLab).", strings.ToLower(TitleDrill), sd.drill),
			Act: func(context.Context) error {
				return d.sims.GitLab.PersonEdit(sd.drill, gitlabfake.Edit{AddLabels: []string{"status::in-progress"}})
			},
			Expect: "pmsync moves the Jira copy to In Progress.",
			Check: func(ctx context.Context) error {
				return d.checkMirrorStatusOf(ctx, sd.drill, "acme-analytics", connectors.StatusInProgress)
			},
		},
		{
			Say:    fmt.Sprintf("Priya closes %s as Done in Jira.", sd.tests),
			Act:    func(context.Context) error { return d.sims.Jira.Transition(sd.tests, "Done", "Done") },
			Expect: "pmsync closes both customers' copies as done.",
			Check:  func(ctx context.Context) error { return d.checkMirrorStatus(ctx, sd.tests, connectors.StatusDone) },
		},
		{
			Say:    fmt.Sprintf("Nobody has closed %s (P1, due %s).", sd.paging, sd.pagingDue),
			Expect: "It is overdue: JaneCorp's digest and the dashboard flag it, and every link shows the same status on both sides.",
			Check:  func(ctx context.Context) error { return d.checkOverdueAndInStep(ctx, sd) },
		},
	}
}

// play runs the steps in order; each must reach its expected state within
// the step timeout. The error names the first expectation not met.
func (d *Demo) play(ctx context.Context, steps []step) error {
	for i, s := range steps {
		d.say("\n%d. %s\n", i+1, s.Say)
		start := time.Now()
		if s.Act != nil {
			if err := s.Act(ctx); err != nil {
				return fmt.Errorf("step %d (%s): %w", i+1, s.Say, err)
			}
		}
		if err := d.await(ctx, s.Check); err != nil {
			return fmt.Errorf("step %d: expected: %s\n  not reached within %s: %w", i+1, s.Expect, d.opts.StepTimeout, err)
		}
		d.say("   ✓ %s (%.1fs)\n", s.Expect, time.Since(start).Seconds())
	}
	return nil
}

// await polls check until it passes, the step times out or ctx ends.
func (d *Demo) await(ctx context.Context, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, d.opts.StepTimeout)
	defer cancel()
	tick := time.NewTicker(150 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() == nil || last == nil {
			last = err // a check cut short by the deadline says less than the one before
		}
		select {
		case <-ctx.Done():
			return last
		case <-tick.C:
		}
	}
}

// link returns the link of the item at ref for customer.
func (d *Demo) link(ref connectors.Ref, customer string) (*store.Link, error) {
	links, err := d.daemon.Store().LinksByRef(ref)
	if err != nil {
		return nil, err
	}
	for _, l := range links {
		if l.Customer == customer {
			return l, nil
		}
	}
	return nil, fmt.Errorf("%s is not linked for %s yet", ref, customer)
}

// mirrorKey returns the key of platform item key's mirror at customer.
func (d *Demo) mirrorKey(key, customer string) (string, error) {
	l, err := d.link(connectors.Ref{Tracker: "platform", Key: key}, customer)
	if err != nil {
		return "", err
	}
	return l.Remote.Ref.Key, nil
}

// sharedWith lists the customers a platform item of the story goes to.
func sharedWith(sd *seeded, key string) []string {
	if key == sd.paging {
		return []string{"janecorp"}
	}
	return []string{"janecorp", "acme-analytics"}
}

func (d *Demo) checkMirrored(ctx context.Context, sd *seeded) error {
	titles := map[string]string{sd.tests: TitleTests, sd.paging: TitlePaging, sd.docs: TitleDocs}
	for _, key := range []string{sd.tests, sd.paging, sd.docs} {
		for _, c := range sharedWith(sd, key) {
			mk, err := d.mirrorKey(key, c)
			if err != nil {
				return err
			}
			it, err := d.get(ctx, c, mk)
			if err != nil {
				return err
			}
			if it.Title != titles[key] {
				return fmt.Errorf("%s's copy %s is titled %q, want %q", c, mk, it.Title, titles[key])
			}
			if key == sd.docs {
				if !strings.Contains(it.Description, scenario.SummaryDocs) {
					return fmt.Errorf("%s's copy %s lacks the customer summary", c, mk)
				}
				if strings.Contains(it.Description, "storage-frontend-7") || strings.Contains(it.Description, "wiki.example.internal") {
					return fmt.Errorf("%s's copy %s carries the internal notes of %s", c, mk, key)
				}
			}
		}
	}
	for _, in := range []struct{ ref, customer, title string }{
		{sd.dashboard, "janecorp", TitleDashboard}, {sd.drill, "acme-analytics", TitleDrill},
	} {
		l, err := d.link(connectors.Ref{Tracker: in.customer, Key: in.ref}, in.customer)
		if err != nil {
			return err
		}
		it, err := d.get(ctx, "platform", l.Platform.Ref.Key)
		if err != nil {
			return err
		}
		if it.Title != in.title {
			return fmt.Errorf("Jira copy %s of %s is titled %q, want %q", l.Platform.Ref.Key, in.ref, it.Title, in.title)
		}
	}
	return nil
}

// checkMirrorStatus checks every customer copy of platform item key.
func (d *Demo) checkMirrorStatus(ctx context.Context, key string, want connectors.Status) error {
	for _, c := range []string{"janecorp", "acme-analytics"} {
		mk, err := d.mirrorKey(key, c)
		if err != nil {
			return err
		}
		it, err := d.get(ctx, c, mk)
		if err != nil {
			return err
		}
		if it.Status != want {
			return fmt.Errorf("%s's copy %s is %s, want %s", c, mk, it.Status, want)
		}
	}
	return nil
}

// checkMirrorStatusOf checks the Jira copy of customer item key.
func (d *Demo) checkMirrorStatusOf(ctx context.Context, key, customer string, want connectors.Status) error {
	l, err := d.link(connectors.Ref{Tracker: customer, Key: key}, customer)
	if err != nil {
		return err
	}
	it, err := d.get(ctx, "platform", l.Platform.Ref.Key)
	if err != nil {
		return err
	}
	if it.Status != want {
		return fmt.Errorf("Jira copy %s is %s, want %s", l.Platform.Ref.Key, it.Status, want)
	}
	return nil
}

// checkMirrorComment checks that every customer copy of key has a comment
// containing text and attribution, and none containing secret.
func (d *Demo) checkMirrorComment(ctx context.Context, key, text, attribution, secret string) error {
	for _, c := range []string{"janecorp", "acme-analytics"} {
		mk, err := d.mirrorKey(key, c)
		if err != nil {
			return err
		}
		cs, err := d.conns[c].ListComments(ctx, mk)
		if err != nil {
			return err
		}
		found := false
		for _, cm := range cs {
			if strings.Contains(cm.Body, secret) {
				return fmt.Errorf("the internal note of %s reached %s's copy %s", key, c, mk)
			}
			found = found || strings.Contains(cm.Body, text) && strings.Contains(cm.Body, attribution)
		}
		if !found {
			return fmt.Errorf("%s's copy %s has no comment %q attributed to %s yet", c, mk, text, attribution)
		}
	}
	return nil
}

// checkPlatformComment checks that Jira item key has a comment containing
// text and attribution.
func (d *Demo) checkPlatformComment(ctx context.Context, key, text, attribution string) error {
	cs, err := d.conns["platform"].ListComments(ctx, key)
	if err != nil {
		return err
	}
	for _, cm := range cs {
		if strings.Contains(cm.Body, text) && strings.Contains(cm.Body, attribution) {
			return nil
		}
	}
	return fmt.Errorf("Jira %s has no comment %q attributed to %s yet", key, text, attribution)
}

// checkOverdueAndInStep checks the end state: PLAT-2 is overdue in
// JaneCorp's digest, and every link shows one status on both sides.
func (d *Demo) checkOverdueAndInStep(ctx context.Context, sd *seeded) error {
	dg, err := d.digest(ctx, "janecorp")
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(dg.Overdue, func(v remind.ItemView) bool { return v.Title == TitlePaging }) {
		return fmt.Errorf("JaneCorp's digest does not list %q as overdue", TitlePaging)
	}
	n := 0
	for _, c := range []string{"janecorp", "acme-analytics"} {
		links, err := d.daemon.Store().Links(c)
		if err != nil {
			return err
		}
		for _, l := range links {
			n++
			if l.State != store.LinkActive {
				return fmt.Errorf("link %s of %s is %s: %s", l.ID, c, l.State, l.BrokenReason)
			}
			if l.Platform.Base.Status != l.Remote.Base.Status {
				return fmt.Errorf("%s is %s in Jira but %s at %s (%s)", l.Platform.Ref.Key, l.Platform.Base.Status, l.Remote.Base.Status, c, l.Remote.Ref.Key)
			}
			// The store must agree with the trackers themselves.
			for _, sd := range []struct {
				id   string
				side store.Side
			}{{"platform", l.Platform}, {c, l.Remote}} {
				it, err := d.get(ctx, sd.id, sd.side.Ref.Key)
				if err != nil {
					return err
				}
				if it.Status != sd.side.Base.Status {
					return fmt.Errorf("%s is %s, but pmsync last saw %s", sd.side.Ref, it.Status, sd.side.Base.Status)
				}
			}
		}
	}
	if n != 7 {
		return fmt.Errorf("%d links, want 7", n)
	}
	return nil
}

// get reads an item through an observer connector of tracker id.
func (d *Demo) get(ctx context.Context, id, key string) (*connectors.Item, error) {
	c := d.conns[id]
	if c == nil {
		return nil, errors.New("no tracker " + id)
	}
	return c.Get(ctx, key)
}
