package remind

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pmsync/pmsync/store"
)

// emailJob builds a digest job that mails addrs through ms.
func emailJob(t *testing.T, ms *mailServer, id string, a Audience, spec string, addrs ...string) DigestJob {
	t.Helper()
	m, err := NewMailer(ms.smtpConfig(), func() time.Time { return scenarioNow }, nil)
	if err != nil {
		t.Fatalf("NewMailer: %v", err)
	}
	j := DigestJob{ID: id, Audience: a, Schedule: mustSchedule(t, spec)}
	for _, addr := range addrs {
		d, err := m.To(addr)
		if err != nil {
			t.Fatalf("To(%s): %v", addr, err)
		}
		j.Recipients = append(j.Recipients, Recipient{ID: "email:" + addr, Channel: "email", Guarantee: AtMostOnce, Deliverer: d})
	}
	return j
}

func newService(t *testing.T, db Store, b *Builder, clk Clock, jobs []DigestJob, rem *Reminders) *Service {
	t.Helper()
	s, err := New(Options{Store: db, Builder: b, Jobs: jobs, Reminders: rem, Clock: clk, Retry: Retry{Attempts: 3, Base: time.Second}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// TestEmailDigestDelivery sends JaneCorp's and Globex's digests through a
// real SMTP server and checks each message: multipart text + HTML, the
// right recipients, authenticated, and nothing of the other customer.
func TestEmailDigestDelivery(t *testing.T) {
	db, b := openScenario(t)
	ms := startMailServer(t)
	clk := newFakeClock(scenarioNow)
	weekly := "CRON_TZ=America/New_York 0 9 * * MON"
	jobs := []DigestJob{
		emailJob(t, ms, "janecorp", Audience{Customer: "janecorp"}, weekly, "sre-leads@janecorp.example", "cto@janecorp.example"),
		emailJob(t, ms, "globex", Audience{Customer: "globex"}, weekly, "oncall@globex.example"),
	}
	s := newService(t, db, b, clk, jobs, nil)
	ctx := context.Background()
	for _, a := range []Audience{{Customer: "janecorp"}, {Customer: "globex"}} {
		res, err := s.SendNow(ctx, a)
		if err != nil {
			t.Fatalf("SendNow(%s): %v", a, err)
		}
		for _, r := range res {
			if r.Outcome != OutcomeSent {
				t.Errorf("SendNow(%s) to %s: got %s, want sent", a, r.Recipient, r.Outcome)
			}
		}
	}
	msgs := ms.messages()
	if len(msgs) != 3 {
		t.Fatalf("server received %d messages, want 3", len(msgs))
	}
	for _, m := range msgs {
		if m.User != "pmsync" || m.From != "pmsync@example.com" {
			t.Errorf("message for %v: auth user %q from %q, want pmsync / pmsync@example.com", m.To, m.User, m.From)
		}
		if len(m.To) != 1 {
			t.Fatalf("message has recipients %v, want exactly one", m.To)
		}
		h, parts := mailParts(t, m.Data)
		if parts["multipart"] != "multipart/alternative" {
			t.Errorf("message to %s: type %q, want multipart/alternative", m.To[0], parts["multipart"])
		}
		text, html := parts["text/plain"], parts["text/html"]
		if text == "" || html == "" {
			t.Fatalf("message to %s: text part %d bytes, HTML part %d bytes; want both", m.To[0], len(text), len(html))
		}
		if got := h.Get("To"); !strings.Contains(got, m.To[0]) {
			t.Errorf("To header %q, want it to name %s", got, m.To[0])
		}
		if h.Get("Message-Id") == "" {
			t.Errorf("message to %s has no Message-ID", m.To[0])
		}
		whole := string(m.Data) + text + html
		switch {
		case strings.HasSuffix(m.To[0], "@janecorp.example"):
			if !strings.Contains(text, "dashboard for platform storage latency") || !strings.Contains(html, "https://github.com/janecorp/reliability/issues/41") {
				t.Errorf("JaneCorp message lacks its own items or links:\n%s", text)
			}
			assertNoCanary(t, "e-mail to "+m.To[0], whole, janeCanaries)
			if !strings.Contains(h.Get("Subject"), "JaneCorp") {
				t.Errorf("subject %q, want it to name JaneCorp", h.Get("Subject"))
			}
		case m.To[0] == "oncall@globex.example":
			if !strings.Contains(text, "GLOBEX-CANARY rotate edge certificates") {
				t.Errorf("Globex message lacks its own item:\n%s", text)
			}
			assertNoCanary(t, "e-mail to Globex", whole, []string{"JaneCorp", "janecorp", "github.com", "PLAT-", "jira.example.com", "INTERNAL-CANARY", "alice.sre"})
		default:
			t.Errorf("unexpected recipient %s", m.To[0])
		}
	}
	var got []string
	for _, m := range msgs {
		got = append(got, m.To[0])
	}
	slices.Sort(got)
	want := []string{"cto@janecorp.example", "oncall@globex.example", "sre-leads@janecorp.example"}
	if !slices.Equal(got, want) {
		t.Errorf("recipients: got %v, want %v", got, want)
	}
}

// TestEmailRejectedRecipient: a 550 for one address is a permanent
// failure, recorded after one attempt, shown in Status, and does not stop
// the other address.
func TestEmailRejectedRecipient(t *testing.T) {
	db, b := openScenario(t)
	ms := startMailServer(t)
	ms.rejectRcpt = "gone@janecorp.example"
	clk := newFakeClock(scenarioNow)
	j := emailJob(t, ms, "janecorp", Audience{Customer: "janecorp"}, "0 9 * * MON", "gone@janecorp.example", "sre-leads@janecorp.example")
	s := newService(t, db, b, clk, []DigestJob{j}, nil)
	res, err := s.SendNow(context.Background(), Audience{Customer: "janecorp"})
	if err != nil {
		t.Fatalf("SendNow: %v", err)
	}
	if len(res) != 2 || res[0].Outcome != OutcomeFailed || res[1].Outcome != OutcomeSent {
		t.Fatalf("results: got %+v, want failed then sent", res)
	}
	if n := len(ms.messages()); n != 1 {
		t.Errorf("server received %d messages, want 1", n)
	}
	st, err := s.Status()
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Problems) != 1 || st.Problems[0].Outcome != OutcomeFailed || !strings.Contains(st.Problems[0].LastError, "550") {
		t.Fatalf("status problems: got %+v, want one failed send naming the 550", st.Problems)
	}
	if strings.Contains(st.Problems[0].LastError, ms.pass) {
		t.Errorf("status error %q holds the SMTP password", st.Problems[0].LastError)
	}
	recs, err := db.Sends("janecorp")
	if err != nil {
		t.Fatal(err)
	}
	states := map[store.SendState]int{}
	for _, r := range recs {
		states[r.State]++
		if r.State == store.SendFailed && r.Attempts != 1 {
			t.Errorf("failed record attempts: got %d, want 1 (a 550 is not retried)", r.Attempts)
		}
	}
	if states[store.SendFailed] != 1 || states[store.SendSent] != 1 {
		t.Errorf("send records: got %v, want 1 failed and 1 sent", states)
	}
}

func TestNewMailerErrors(t *testing.T) {
	tests := []struct {
		cfg  SMTPConfig
		want string
	}{
		{SMTPConfig{From: "a@b.example"}, "smtp.host"},
		{SMTPConfig{Host: "h", From: "not an address"}, "smtp.from"},
		{SMTPConfig{Host: "h", From: "a@b.example", TLS: "ssl3"}, "smtp.tls"},
		{SMTPConfig{Host: "h", From: "a@b.example", User: "u", Auth: "cram-md5"}, "smtp.auth"},
		{SMTPConfig{Host: "h", From: "a@b.example", Port: 70000}, "smtp.port"},
	}
	for _, tc := range tests {
		_, err := NewMailer(tc.cfg, nil, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewMailer(%+v): got %v, want an error naming %s", tc.cfg, err, tc.want)
		}
	}
}
