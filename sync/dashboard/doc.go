// Package dashboard renders pmsync's read-only operator page: per customer
// and per incident, every linked action item with both sides' status, its
// owner, priority and due date, links into both trackers, the links that
// are broken or had conflicts, and each tracker's last poll, errors and API
// budget.
//
// It is one server-rendered html/template page with a small inline style
// sheet and no JavaScript; on a narrow screen its tables become cards. It
// reads the store and what the daemon knows about the trackers, never a
// tracker API, and it shows no secret: tokens and webhook secrets never
// reach it. It is the platform's operator view, so it shows platform keys
// and links; it is not for customers.
package dashboard
