package remind

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ChatPayload is a Slack-compatible incoming-webhook message: a plain
// fallback text and Block Kit blocks. Mattermost, Rocket.Chat and others
// accept the same shape (they read text and ignore what they lack).
type ChatPayload struct {
	Text   string      `json:"text"`
	Blocks []ChatBlock `json:"blocks,omitempty"`
}

// ChatBlock is one Block Kit block (header, section, context, divider).
type ChatBlock struct {
	Type     string      `json:"type"`
	Text     *ChatText   `json:"text,omitempty"`
	Elements []*ChatText `json:"elements,omitempty"`
}

// ChatText is a Block Kit text object: "plain_text" or "mrkdwn".
type ChatText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// Block Kit limits.
const (
	maxBlocks      = 50
	maxSectionText = 3000
	maxHeaderText  = 150
)

// ChatWebhook posts messages to a chat incoming webhook. The URL is a
// secret (it carries the webhook's token): it never appears in an error or
// a log line.
type ChatWebhook struct {
	URL    string
	Client *http.Client // nil: a client with a 15 s timeout
}

var _ Deliverer = (*ChatWebhook)(nil)

// NewChatWebhook checks rawURL and returns a deliverer for it.
func NewChatWebhook(rawURL string, client *http.Client) (*ChatWebhook, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("chat webhook: the URL is not an http(s) URL")
	}
	return &ChatWebhook{URL: u.String(), Client: client}, nil
}

// Deliver posts m.Chat (or m.Text) as JSON; any 2xx answer is success.
// 429 and 5xx are temporary, other answers permanent; a transport error
// after the request was written may have delivered the message.
func (w *ChatWebhook) Deliver(ctx context.Context, m *Message) error {
	p := m.Chat
	if p == nil {
		p = &ChatPayload{Text: m.Text}
	}
	body, err := json.Marshal(p)
	if err != nil {
		return Permanent(fmt.Errorf("chat webhook: encode message: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return Permanent(errors.New("chat webhook: cannot build the request"))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return MaybeDelivered(fmt.Errorf("chat webhook: post: %s", transportReason(err)))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("chat webhook: answered %d", resp.StatusCode)
	}
	return Permanent(fmt.Errorf("chat webhook: answered %d", resp.StatusCode))
}

// transportReason describes a client error without the request URL.
func transportReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out"
	}
	s := err.Error()
	// Dial errors name the address, which is fine; but never echo a URL.
	if strings.Contains(s, "://") {
		return "transport error"
	}
	return s
}

// chatPayload builds the chat message of a digest: a headline, the
// counts, the open critical items per incident (with links into the
// audience's own tracker) and the overdue ones.
func chatPayload(d *Digest) *ChatPayload {
	p := &ChatPayload{Text: d.Subject()}
	add := func(b ChatBlock) {
		if len(p.Blocks) < maxBlocks-1 { // keep room for the footer
			p.Blocks = append(p.Blocks, b)
		}
	}
	add(ChatBlock{Type: "header", Text: &ChatText{Type: "plain_text", Text: clip(d.Title(), maxHeaderText)}})
	t := d.Totals
	add(section(fmt.Sprintf("*%s* (%d critical), *%d overdue*, %d stale, %d closed since %s, %s, %s.",
		plural(t.Open, "open item", "open items"), t.Critical, t.Overdue, t.Stale, t.Closed, fmtDate(d.Since),
		plural(t.Conflicts, "conflict", "conflicts"), plural(t.Broken, "broken link", "broken links"))))
	if d.Audience.Platform {
		var lines []string
		for _, s := range d.Summaries {
			lines = append(lines, fmt.Sprintf("• *%s*: %d open, %d critical, %d overdue, %d stale, %d broken",
				slackEscape(oneLine(s.Customer.Name)), s.Open, s.Critical, s.Overdue, s.Stale, s.Broken))
		}
		if len(lines) > 0 {
			add(section(strings.Join(lines, "\n")))
		}
	}
	for _, g := range d.Incidents {
		name := "(none)"
		if g.Incident != "" {
			name = oneLine(g.Incident)
		}
		lines := []string{"*Incident " + slackEscape(name) + "*: open critical items"}
		for _, v := range append(append([]ItemView{}, g.PlatformOwned...), g.CustomerOwned...) {
			lines = append(lines, chatItem(d, v))
		}
		add(section(strings.Join(lines, "\n")))
	}
	if len(d.Overdue) > 0 {
		lines := []string{"*Overdue*"}
		for _, v := range d.Overdue {
			lines = append(lines, chatItem(d, v))
		}
		add(section(strings.Join(lines, "\n")))
	}
	p.Blocks = append(p.Blocks, ChatBlock{Type: "context", Elements: []*ChatText{{Type: "mrkdwn", Text: "Sent by pmsync."}}})
	return p
}

// chatItem is one mrkdwn line: "• <url|key> title (P1, in progress, owner X, due …)".
func chatItem(d *Digest, v ItemView) string {
	var refs []string
	for _, r := range v.Refs {
		if u := webURL(r.URL); u != "" {
			refs = append(refs, "<"+slackEscape(u)+"|"+slackEscape(oneLine(r.Key))+">")
		} else {
			refs = append(refs, slackEscape(oneLine(r.Key)))
		}
	}
	return fmt.Sprintf("• %s %s (%s, %s, owner %s, due %s)", strings.Join(refs, " / "), slackEscape(oneLine(v.Title)),
		orDash(string(v.Priority)), statusText(v.Status), slackEscape(v.OwnerName(d.PlatformName)), dueText(v.Assessment))
}

func section(text string) ChatBlock {
	return ChatBlock{Type: "section", Text: &ChatText{Type: "mrkdwn", Text: clip(text, maxSectionText)}}
}

// slackEscape escapes the three characters Slack's mrkdwn reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// clip shortens s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
