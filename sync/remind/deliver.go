package remind

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pmsync/pmsync/store"
)

// Message is one rendered digest (or reminder) ready for any channel.
type Message struct {
	// Key is the send key the message is delivered under; e-mail uses it
	// for a stable Message-ID.
	Key     string
	Subject string
	Text    string
	HTML    string
	// Chat is the Slack-compatible payload; nil for messages that have
	// none (a channel then falls back to Text).
	Chat *ChatPayload
}

// Deliverer delivers a message to one recipient. It classifies its errors
// with Permanent and MaybeDelivered; any other error is temporary (nothing
// was delivered, retrying may help). It never puts a secret (a password, a
// webhook URL) in an error.
type Deliverer interface {
	Deliver(ctx context.Context, m *Message) error
}

// Guarantee says what to do when a delivery may or may not have happened
// (a crash between recording and delivering, a connection lost after the
// message was handed over).
type Guarantee int

const (
	// AtMostOnce never risks a second copy: an uncertain delivery is not
	// repeated, only reported. It is the choice for e-mail and tracker
	// comments, where a duplicate is worse than a gap that the status page
	// and the next digest make visible.
	AtMostOnce Guarantee = iota
	// AtLeastOnce repeats an uncertain delivery: a chat channel shows a
	// rare duplicate plainly and loses nothing.
	AtLeastOnce
)

func (g Guarantee) String() string {
	if g == AtLeastOnce {
		return "at-least-once"
	}
	return "at-most-once"
}

// Recipient is one destination of a digest.
type Recipient struct {
	// ID names the recipient in send keys and status: "email:addr",
	// "chat". It must hold no secret (never a webhook URL).
	ID        string
	Channel   string // "email", "chat" or "comment", for metrics
	Guarantee Guarantee
	Deliverer Deliverer
}

// deliveryError carries how a delivery failed.
type deliveryError struct {
	err            error
	permanent      bool
	maybeDelivered bool
}

func (e *deliveryError) Error() string { return e.err.Error() }
func (e *deliveryError) Unwrap() error { return e.err }

// Permanent marks err as a failure that retrying cannot fix (a rejected
// recipient, a 4xx answer).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &deliveryError{err: err, permanent: true}
}

// MaybeDelivered marks err as a failure after which the message may have
// arrived (the connection broke after the data was handed over).
func MaybeDelivered(err error) error {
	if err == nil {
		return nil
	}
	return &deliveryError{err: err, maybeDelivered: true}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var de *deliveryError
	return errors.As(err, &de) && de.permanent
}

// IsMaybeDelivered reports whether err was marked with MaybeDelivered.
func IsMaybeDelivered(err error) bool {
	var de *deliveryError
	return errors.As(err, &de) && de.maybeDelivered
}

// SendStore is the part of the store that records deliveries. *store.DB
// implements it.
type SendStore interface {
	BeginSend(key, customer string) (*store.SendRecord, bool, error)
	FinishSend(key string, state store.SendState, errText string) error
	Send(key string) (*store.SendRecord, error)
	Sends(customer string) ([]*store.SendRecord, error)
	GetState(name string) ([]byte, error)
	PutState(name string, v []byte) error
}

var _ SendStore = (*store.DB)(nil)

// Retry bounds the delivery attempts of one send and the waits between
// them: Base, 2·Base, 4·Base, … capped at Max.
type Retry struct {
	Attempts int           // total attempts, at least 1; default 4
	Base     time.Duration // default 2s
	Max      time.Duration // default 1m
}

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = 4
	}
	if r.Base < 0 {
		r.Base = 0
	} else if r.Base == 0 {
		r.Base = 2 * time.Second
	}
	if r.Max <= 0 {
		r.Max = time.Minute
	}
	return r
}

// Backoff returns the wait after failed attempt n (1-based).
func (r Retry) Backoff(n int) time.Duration {
	r = r.withDefaults()
	d := r.Base
	for i := 1; i < n && d < r.Max; i++ {
		d *= 2
	}
	return min(d, r.Max)
}

// Outcome is the result of one send.
type Outcome string

// The outcomes of a send.
const (
	OutcomeSent    Outcome = "sent"
	OutcomeFailed  Outcome = "failed"  // recorded as failed; a later BeginSend may retry
	OutcomeUnknown Outcome = "unknown" // may have been delivered; left pending, not repeated
	OutcomeSkipped Outcome = "skipped" // already sent, or pending from an earlier run (at most once)
)

// sender delivers messages exactly as the send records allow.
type sender struct {
	db     SendStore
	clock  Clock
	retry  Retry
	log    *slog.Logger
	status *statusBook
}

// send delivers the message that build returns to r under key for
// customer ("" = platform team): it claims key with BeginSend before the
// message is built or delivered, retries
// temporary failures with backoff, and records the outcome with FinishSend.
func (s *sender) send(ctx context.Context, key, customer string, r Recipient, build func() (*Message, error)) (Outcome, error) {
	rec, started, err := s.db.BeginSend(key, customer)
	if err != nil {
		return "", fmt.Errorf("remind: claim send %s: %w", key, err)
	}
	if !started && rec.State == store.SendPending && r.Guarantee == AtLeastOnce {
		// Interrupted earlier: turn it into a failure so it can be claimed again.
		if err := s.db.FinishSend(key, store.SendFailed, "interrupted before the outcome was recorded"); err != nil {
			return "", fmt.Errorf("remind: release send %s: %w", key, err)
		}
		if rec, started, err = s.db.BeginSend(key, customer); err != nil {
			return "", fmt.Errorf("remind: claim send %s: %w", key, err)
		}
	}
	if !started {
		if rec.State == store.SendPending {
			s.status.record(key, customer, r, OutcomeUnknown, "an earlier delivery was interrupted; not repeated (at most once)", rec.Attempts)
			s.log.Warn("send left pending by an earlier run; not repeating", "key", key, "channel", r.Channel)
		}
		return OutcomeSkipped, nil
	}
	m, err := build()
	if err != nil {
		text := "build message: " + err.Error()
		if ferr := s.db.FinishSend(key, store.SendFailed, text); ferr != nil {
			return "", fmt.Errorf("remind: record failed send %s: %w", key, ferr)
		}
		s.status.record(key, customer, r, OutcomeFailed, text, rec.Attempts)
		return OutcomeFailed, err
	}
	mm := *m
	mm.Key = key
	return s.attempt(ctx, key, customer, r, &mm, rec.Attempts)
}

// attempt runs the delivery attempts of a claimed send.
func (s *sender) attempt(ctx context.Context, key, customer string, r Recipient, m *Message, claims int) (Outcome, error) {
	retry := s.retry.withDefaults()
	for n := 1; ; n++ {
		err := r.Deliverer.Deliver(ctx, m)
		if err == nil {
			if ferr := s.db.FinishSend(key, store.SendSent, ""); ferr != nil {
				return "", fmt.Errorf("remind: record send %s: %w", key, ferr)
			}
			s.status.record(key, customer, r, OutcomeSent, "", claims)
			return OutcomeSent, nil
		}
		text := err.Error()
		switch {
		case ctx.Err() != nil:
			// Stopped mid-delivery: the outcome is unknown; the record stays
			// pending exactly as after a crash.
			s.status.record(key, customer, r, OutcomeUnknown, "stopped during delivery", claims)
			return OutcomeUnknown, ctx.Err()
		case IsMaybeDelivered(err) && r.Guarantee == AtMostOnce:
			s.status.record(key, customer, r, OutcomeUnknown, text, claims)
			s.log.Warn("delivery outcome unknown; not repeating", "key", key, "channel", r.Channel, "err", text)
			return OutcomeUnknown, nil
		case IsPermanent(err) || n >= retry.Attempts:
			if ferr := s.db.FinishSend(key, store.SendFailed, text); ferr != nil {
				return "", fmt.Errorf("remind: record failed send %s: %w", key, ferr)
			}
			s.status.record(key, customer, r, OutcomeFailed, text, claims)
			s.log.Warn("delivery failed", "key", key, "channel", r.Channel, "attempts", n, "err", text)
			return OutcomeFailed, nil
		}
		s.log.Debug("delivery failed; retrying", "key", key, "channel", r.Channel, "attempt", n, "err", text)
		t := s.clock.NewTimer(retry.Backoff(n))
		select {
		case <-ctx.Done():
			t.Stop()
			// Nothing is in flight now, so the last attempt definitely
			// failed: record it so a later run may retry.
			if ferr := s.db.FinishSend(key, store.SendFailed, text); ferr != nil {
				return "", fmt.Errorf("remind: record failed send %s: %w", key, ferr)
			}
			s.status.record(key, customer, r, OutcomeFailed, text, claims)
			return OutcomeFailed, ctx.Err()
		case <-t.C():
		}
	}
}
