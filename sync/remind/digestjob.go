package remind

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// SendResult is the outcome of one recipient of a digest.
type SendResult struct {
	Recipient string
	Channel   string
	Outcome   Outcome
}

// runDigest delivers the digest of job j for one period (keyPrefix names
// it) to every recipient. Each recipient is claimed in the store before the
// digest is built; the digest is built once, on the first claim.
func (s *Service) runDigest(ctx context.Context, j DigestJob, keyPrefix string, since time.Time) error {
	_, err := s.deliverDigest(ctx, j, keyPrefix, since)
	return err
}

func (s *Service) deliverDigest(ctx context.Context, j DigestJob, keyPrefix string, since time.Time) ([]SendResult, error) {
	customer := j.Audience.Customer
	if j.Audience.Platform {
		customer = ""
	}
	build := sync.OnceValues(func() (*Message, error) {
		d, err := s.b.Digest(ctx, j.Audience, since, s.clock.Now())
		if err != nil {
			return nil, err
		}
		return digestMessage(d)
	})
	var results []SendResult
	var firstErr error
	for _, r := range j.Recipients {
		if ctx.Err() != nil {
			return results, ctx.Err()
		}
		o, err := s.send.send(ctx, keyPrefix+"/"+r.ID, customer, r, build)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		results = append(results, SendResult{Recipient: r.ID, Channel: r.Channel, Outcome: o})
	}
	return results, firstErr
}

// digestMessage renders d for every channel.
func digestMessage(d *Digest) (*Message, error) {
	text, err := d.Render(FormatText)
	if err != nil {
		return nil, err
	}
	html, err := d.Render(FormatHTML)
	if err != nil {
		return nil, err
	}
	return &Message{Subject: d.Subject(), Text: string(text), HTML: string(html), Chat: chatPayload(d)}, nil
}

// digestJob returns the digest job with id ("platform" or a customer id).
func (s *Service) digestJob(id string) (DigestJob, bool) {
	for _, j := range s.digestJobs {
		if j.ID == id {
			return j, true
		}
	}
	return DigestJob{}, false
}

// Preview builds the digest that audience a would get now, covering the
// time since its job's last digest (or its previous period), without
// claiming or sending anything.
func (s *Service) Preview(ctx context.Context, a Audience) (*Digest, error) {
	since, err := s.sinceForAudience(a)
	if err != nil {
		return nil, err
	}
	return s.b.Digest(ctx, a, since, s.clock.Now())
}

// sinceForAudience is the start of the next digest for a: the last period
// sent by its job, else its schedule's previous firing, else a week ago.
func (s *Service) sinceForAudience(a Audience) (time.Time, error) {
	now := s.clock.Now()
	for _, j := range s.jobs {
		if j.id != "digest/"+jobIDFor(a) {
			continue
		}
		st, ok, err := s.loadState(j.id)
		if err != nil {
			return time.Time{}, err
		}
		if ok && !st.LastSent.IsZero() {
			return st.LastSent, nil
		}
		if p := j.schedule.Prev(now); !p.IsZero() {
			if p.Equal(now) {
				p = j.schedule.Prev(now.Add(-time.Second))
			}
			if !p.IsZero() {
				return p, nil
			}
		}
	}
	return now.Add(-7 * day), nil
}

// jobIDFor is the digest job id of an audience.
func jobIDFor(a Audience) string {
	if a.Platform {
		return "platform"
	}
	return a.Customer
}

// SendNow delivers the digest of audience a immediately to the recipients
// of its job, under a period of its own ("manual" plus the time), so it
// never collides with a scheduled period.
func (s *Service) SendNow(ctx context.Context, a Audience) ([]SendResult, error) {
	j, ok := s.digestJob(jobIDFor(a))
	if !ok {
		return nil, fmt.Errorf("remind: no digest is configured for %s", a)
	}
	if len(j.Recipients) == 0 {
		return nil, fmt.Errorf("remind: the digest for %s has no recipients (set digest.email or digest.chat_webhook_env)", a)
	}
	s.runMu.Lock()
	defer s.runMu.Unlock()
	since, err := s.sinceForAudience(a)
	if err != nil {
		return nil, err
	}
	return s.deliverDigest(ctx, j, "digest/"+j.ID+"/manual-"+periodKey(s.clock.Now()), since)
}
