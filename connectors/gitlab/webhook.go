package gitlab

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pmsync/pmsync/connectors"
)

// The X-Gitlab-Event values pmsync acts on.
const (
	EventIssue             = "Issue Hook"
	EventConfidentialIssue = "Confidential Issue Hook"
	EventNote              = "Note Hook"
	EventConfidentialNote  = "Confidential Note Hook"
)

// hookTime is a webhook timestamp in any of GitLab's formats; one that
// cannot be read is kept as zero rather than failing the delivery.
type hookTime struct{ time.Time }

func (t *hookTime) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		t.Time, _ = ParseTime(s)
	}
	return nil
}

// ParseTime reads a GitLab timestamp in any of the forms its REST API and
// webhooks use, even within one payload: "2013-12-03T17:15:43Z",
// "2016-01-04T15:31:46.176Z", "2017-09-15 16:50:55 UTC" and
// "2017-09-15 16:50:55 +0200".
func ParseTime(s string) (time.Time, error) {
	for _, layout := range []string{
		time.RFC3339Nano, "2006-01-02 15:04:05 MST", "2006-01-02 15:04:05 -0700",
		"2006-01-02T15:04:05.000-0700", "2006-01-02 15:04:05",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("gitlab: %q is not a GitLab timestamp", s)
}

// hookPayload is the part of an Issue Hook or Note Hook body pmsync reads.
type hookPayload struct {
	ObjectKind string `json:"object_kind"`
	Project    *struct {
		ID                int64  `json:"id"`
		PathWithNamespace string `json:"path_with_namespace"`
	} `json:"project"`
	ObjectAttributes *struct {
		IID          int64    `json:"iid"`
		NoteableType string   `json:"noteable_type"`
		Action       string   `json:"action"`
		UpdatedAt    hookTime `json:"updated_at"`
	} `json:"object_attributes"`
	Issue *struct {
		IID int64 `json:"iid"`
	} `json:"issue"`
}

// ParseWebhook authenticates a delivery by its X-Gitlab-Token (compared in
// constant time; a tracker without a webhook secret refuses every
// delivery) and returns the issue it concerns. Issue and Note hooks (and
// their Confidential variants) name one key; other authenticated events
// name none. The delivery id is Idempotency-Key (stable across retries,
// GitLab 17.4+), else X-Gitlab-Event-UUID, else a hash of the body.
func (c *Client) ParseWebhook(r *http.Request, body []byte) (*connectors.WebhookEvent, error) {
	const op = "gitlab: webhook"
	if len(c.secret) == 0 {
		return nil, connectors.Errorf(connectors.CodeUnauthenticated, op, errors.New("no webhook secret configured for this tracker"))
	}
	got := sha256.Sum256([]byte(r.Header.Get("X-Gitlab-Token")))
	want := sha256.Sum256(c.secret)
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return nil, connectors.Errorf(connectors.CodeUnauthenticated, op, errors.New("X-Gitlab-Token missing or wrong"))
	}
	event := r.Header.Get("X-Gitlab-Event")
	if event == "" {
		return nil, connectors.Errorf(connectors.CodeInvalid, op, errors.New("X-Gitlab-Event header missing"))
	}
	var p hookPayload
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '{' {
		return nil, connectors.Errorf(connectors.CodeInvalid, op, errors.New("body is not a JSON object"))
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, connectors.Errorf(connectors.CodeInvalid, op, errors.New("body is not a GitLab event payload"))
	}
	ev := &connectors.WebhookEvent{DeliveryID: deliveryID(r.Header, body), Event: event}
	iid, err := hookIID(event, &p)
	if err != nil {
		return nil, connectors.Errorf(connectors.CodeInvalid, op+" "+event, err)
	}
	if iid == 0 {
		return ev, nil
	}
	path, err := c.hookProject(&p)
	if err != nil {
		return nil, connectors.Errorf(connectors.CodeInvalid, op+" "+event, err)
	}
	ev.Keys = []string{c.keyOf(path, iid)}
	// The issue changed (or a note was written): Update must not plan
	// from an answer older than this delivery. Hook timestamps have
	// whole seconds, too coarse to tell our own write's hook apart.
	c.issues.drop(iid)
	if p.ObjectAttributes != nil {
		c.log.Debug("webhook", "event", event, "key", ev.Keys[0], "action", p.ObjectAttributes.Action,
			"updated_at", p.ObjectAttributes.UpdatedAt.Time, "delivery", ev.DeliveryID)
	}
	return ev, nil
}

// hookIID returns the iid of the issue an Issue or Note hook concerns; 0
// for other events and for notes on merge requests, snippets or commits.
func hookIID(event string, p *hookPayload) (int64, error) {
	switch event {
	case EventIssue, EventConfidentialIssue:
		if p.ObjectKind != "issue" || p.ObjectAttributes == nil || p.ObjectAttributes.IID <= 0 {
			return 0, errors.New("payload is not an issue event with object_attributes.iid")
		}
		return p.ObjectAttributes.IID, nil
	case EventNote, EventConfidentialNote:
		if p.ObjectKind != "note" || p.ObjectAttributes == nil {
			return 0, errors.New("payload is not a note event with object_attributes")
		}
		if p.ObjectAttributes.NoteableType != "Issue" {
			return 0, nil
		}
		if p.Issue == nil || p.Issue.IID <= 0 {
			return 0, errors.New("note on an issue without issue.iid")
		}
		return p.Issue.IID, nil
	}
	return 0, nil
}

// hookProject checks that the payload's project is this tracker's and
// returns the path to build keys with.
func (c *Client) hookProject(p *hookPayload) (string, error) {
	if p.Project == nil || (p.Project.PathWithNamespace == "" && p.Project.ID == 0) {
		return "", errors.New("payload names no project")
	}
	if isNumeric(c.project) {
		if strconv.FormatInt(p.Project.ID, 10) != c.project || p.Project.PathWithNamespace == "" {
			return "", fmt.Errorf("delivery for project %d, tracker is project %s", p.Project.ID, c.project)
		}
		return p.Project.PathWithNamespace, nil
	}
	if !strings.EqualFold(p.Project.PathWithNamespace, c.project) {
		return "", fmt.Errorf("delivery for project %q, tracker is project %q", p.Project.PathWithNamespace, c.project)
	}
	return c.project, nil
}

// deliveryID is the de-duplication id of a delivery: Idempotency-Key,
// else X-Gitlab-Event-UUID, else the Standard Webhooks webhook-id, else a
// hash of the body (a resent body hashes the same).
func deliveryID(h http.Header, body []byte) string {
	for _, name := range []string{"Idempotency-Key", "X-Gitlab-Event-UUID", "Webhook-Id"} {
		if v := strings.TrimSpace(h.Get(name)); v != "" && len(v) <= 200 {
			return v
		}
	}
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:16])
}
