package remind

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/store"
)

// Commenter adds a comment carrying a marker to an item in a tracker
// ("platform" or a customer id). The daemon wires it to the connectors.
// Because the comment carries a pmsync marker, the engine never mirrors it.
type Commenter interface {
	AddComment(ctx context.Context, trackerID, key, marker, body string) error
}

// Reminders comments on overdue critical items in their owner's tracker,
// at most once per item per ISO week (UTC). Send records are kept under
// the customer for customer-owned items and under the platform team for
// platform-owned ones.
type Reminders struct {
	Commenter Commenter
	// MarkerKey is the HMAC key of pmsync's markers (sync.marker_key, the
	// one the engine uses), so reminder markers look like every other
	// marker. It may be empty, as it may be for the engine.
	MarkerKey []byte
	// Schedule says when to look for overdue items (for example daily
	// or with the platform digest). The once-a-week limit holds whatever
	// it is.
	Schedule *Schedule
}

func (s *Service) addReminders(r *Reminders, seen map[string]bool) error {
	if r.Commenter == nil || r.Schedule == nil {
		return errors.New("remind: reminders need a Commenter and a Schedule")
	}
	if seen["reminder"] {
		return errors.New("remind: reminders configured twice")
	}
	seen["reminder"] = true
	s.jobs = append(s.jobs, job{id: "reminder", schedule: r.Schedule,
		run: func(ctx context.Context, period, _ time.Time) error {
			return s.runReminders(ctx, r, period)
		}})
	return nil
}

// isoWeek names the ISO week of t in UTC: "2025-W12".
func isoWeek(t time.Time) string {
	y, w := t.UTC().ISOWeek()
	return fmt.Sprintf("%d-W%02d", y, w)
}

// runReminders comments once on every open, overdue, critical item of an
// active link, in the tracker of the side that owns it.
func (s *Service) runReminders(ctx context.Context, r *Reminders, period time.Time) error {
	now := s.clock.Now()
	week := isoWeek(period)
	var errs []error
	for _, c := range s.b.Customers {
		links, err := s.b.Source.Links(c.ID)
		if err != nil {
			errs = append(errs, fmt.Errorf("remind: read links of %s: %w", c.ID, err))
			continue
		}
		for _, l := range links {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if l.Customer != c.ID || l.State != store.LinkActive {
				continue
			}
			if err := s.remindOne(ctx, r, l, c, week, now); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (s *Service) remindOne(ctx context.Context, r *Reminders, l *store.Link, c Customer, week string, now time.Time) error {
	// Each side is told in its own terms: its own view of the item. A
	// platform item shared with several customers is one item: its
	// reminder is keyed by the platform ref, not by the link.
	ownerSide, tracker, scope, a := &l.Remote, c.ID, c.ID, Audience{Customer: c.ID}
	if l.Owner == connectors.OwnerPlatform || (l.Owner == "" && l.Origin == connectors.OwnerPlatform) {
		ownerSide, tracker, scope, a = &l.Platform, "platform", "", Audience{Platform: true, Customer: c.ID}
	}
	v := project(l, a, c.Name, s.b.Policy, now)
	if !v.Open || !v.Critical || !v.Overdue || ownerSide.Ref.Key == "" {
		return nil
	}
	item := tracker + ":" + ownerSide.Ref.Key
	key := "reminder/" + item + "/" + week
	marker := connectors.MarkerID(r.MarkerKey, "reminder", item, week)
	rcpt := Recipient{ID: "comment", Channel: "comment", Guarantee: AtMostOnce,
		Deliverer: &commentDeliverer{c: r.Commenter, tracker: tracker, key: ownerSide.Ref.Key, marker: marker}}
	_, err := s.send.send(ctx, key, scope, rcpt, func() (*Message, error) {
		return &Message{Subject: "overdue reminder", Text: reminderBody(v)}, nil
	})
	return err
}

// reminderBody is the comment text. It names only what the item itself
// shows on that side: priority, due date, incident.
func reminderBody(v ItemView) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**Reminder:** this %s action item was due on %s and is %s overdue.", v.Priority, v.Due, plural(v.DaysOverdue, "day", "days"))
	if v.Incident != "" {
		fmt.Fprintf(&b, " It follows up incident %s.", oneLine(v.Incident))
	}
	b.WriteString(" Please close it, or update its due date if the plan changed.\n\n")
	b.WriteString("_pmsync posts this reminder at most once a week while the item is overdue._")
	return b.String()
}

// commentDeliverer posts a reminder as a tracker comment.
type commentDeliverer struct {
	c       Commenter
	tracker string
	key     string
	marker  string
}

// Deliver adds the comment. Connector errors are classified by their
// code: invalid, not found and permission errors are permanent; anything
// else may have created the comment (a lost answer), so it is reported as
// maybe delivered and, at most once, not repeated.
func (d *commentDeliverer) Deliver(ctx context.Context, m *Message) error {
	err := d.c.AddComment(ctx, d.tracker, d.key, d.marker, m.Text)
	if err == nil {
		return nil
	}
	err = fmt.Errorf("comment on %s:%s: %w", d.tracker, d.key, err)
	var ce *connectors.Error
	if errors.As(err, &ce) {
		switch ce.Code {
		case connectors.CodeInvalid, connectors.CodeNotFound, connectors.CodePermission:
			return Permanent(err)
		case connectors.CodeRateLimited:
			return err // refused before anything was written
		}
	}
	return MaybeDelivered(err)
}
