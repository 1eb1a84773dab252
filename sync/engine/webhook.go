package engine

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/pmsync/pmsync/connectors"
)

// WebhookPath is the path prefix of webhook intake: deliveries for tracker
// id arrive at WebhookPath + id.
const WebhookPath = "/webhooks/"

// WebhookHandler returns the handler of /webhooks/<tracker-id>. For each
// delivery it reads at most MaxWebhookBody bytes (413 beyond), lets the
// tracker's connector authenticate and parse it (401 when it is not
// authentic, 400 when malformed; nothing is queued), records the delivery
// id in the store (a repeat is answered 200 "duplicate" and queues nothing;
// a store failure is 503, so the tracker redelivers), then queues the refs
// it names and answers 202 without waiting for any reconcile.
func (e *Engine) WebhookHandler() http.Handler {
	return http.HandlerFunc(e.serveWebhook)
}

func (e *Engine) serveWebhook(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, WebhookPath)
	t := e.tracker(id)
	if !strings.HasPrefix(r.URL.Path, WebhookPath) || t == nil {
		http.Error(w, "unknown tracker", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	log := e.log.With("tracker", id)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			log.Warn("webhook refused: body over the size limit", "limit", MaxWebhookBody)
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	ev, err := t.g.ParseWebhook(r, body)
	if err != nil {
		switch connectors.CodeOf(err) {
		case connectors.CodeUnauthenticated, connectors.CodePermission:
			log.Warn("webhook refused: not authenticated")
			http.Error(w, "unauthenticated", http.StatusUnauthorized)
		default:
			log.Warn("webhook refused: malformed", "err", describe(err))
			http.Error(w, "malformed delivery", http.StatusBadRequest)
		}
		return
	}
	if ev.DeliveryID != "" {
		fresh, err := e.st.RecordDelivery(id, ev.DeliveryID, e.o.DeliveryTTL)
		if err != nil {
			log.Error("cannot record a webhook delivery; asking for redelivery", "err", err)
			http.Error(w, "store unavailable", http.StatusServiceUnavailable)
			return
		}
		if !fresh {
			log.Debug("duplicate webhook delivery ignored", "delivery", ev.DeliveryID)
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "duplicate\n")
			return
		}
	}
	comments := commentEvent(ev.Event)
	for _, key := range ev.Keys {
		if key != "" {
			e.enqueueEvent(connectors.Ref{Tracker: id, Key: key}, comments)
		}
	}
	log.Debug("webhook accepted", "event", ev.Event, "items", len(ev.Keys))
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, "accepted\n")
}

// commentEvent reports whether a webhook event is about comments (GitHub
// issue_comment, GitLab Note Hook, Jira comment_created and the like):
// an edited comment changes no comment count, so its reconcile must list
// the comments.
func commentEvent(event string) bool {
	e := strings.ToLower(event)
	return strings.Contains(e, "comment") || strings.Contains(e, "note")
}
