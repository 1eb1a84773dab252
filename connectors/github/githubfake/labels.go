package githubfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	docLabels     = "https://docs.github.com/rest/reference/issues#create-a-label"
	docMilestones = "https://docs.github.com/rest/issues/milestones"
)

var colorRE = regexp.MustCompile(`^[0-9a-fA-F]{6}$`)

// maxLabel is GitHub's limit on label names, in characters.
const maxLabel = 50

// checkLabels refuses label names GitHub would refuse.
func checkLabels(resource string, names []string) *reply {
	for _, n := range names {
		if utf8.RuneCountInString(strings.TrimSpace(n)) > maxLabel {
			return invalid(resource, "labels", "custom", fmt.Sprintf("name is too long (maximum is %d characters)", maxLabel), docLabels)
		}
	}
	return nil
}

// labelsFor resolves names to repository labels, creating missing ones the
// way GitHub does when an issue is given a label that does not exist yet.
// Callers check the names first (checkLabels).
func (h handler) labelsFor(names []string) []*label {
	out := []*label{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		l := h.rp.label(n)
		if l == nil {
			l = &label{id: h.f.st.id(), name: n, color: "ededed"}
			h.rp.labels = append(h.rp.labels, l)
		}
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// labels answers /repos/{o}/{r}/labels[/{name}].
func (h handler) labels() *reply {
	if h.rt.name != "" {
		l := h.rp.label(h.rt.name)
		if l == nil || h.r.Method != http.MethodGet {
			return notFound()
		}
		return ok(http.StatusOK, h.u.label(h.rp, l))
	}
	switch h.r.Method {
	case http.MethodGet:
		lo, hi, rep := h.page(len(h.rp.labels))
		if rep != nil {
			return rep
		}
		out := []labelJSON{}
		for _, l := range h.rp.labels[lo:hi] {
			out = append(out, h.u.label(h.rp, l))
		}
		res := ok(http.StatusOK, out)
		h.setLink(res, len(h.rp.labels))
		return res
	case http.MethodPost:
		return h.createLabel()
	}
	return notFound()
}

func (h handler) createLabel() *reply {
	fields, rep := h.decode()
	if rep != nil {
		return rep
	}
	name, _, isStr := str(fields, "name")
	if !isStr || strings.TrimSpace(name) == "" {
		return invalid("Label", "name", "missing_field", "", docLabels)
	}
	if rep := checkLabels("Label", []string{name}); rep != nil {
		return rep
	}
	color, hasColor, _ := str(fields, "color")
	color = strings.TrimPrefix(color, "#")
	if !hasColor {
		color = "ededed"
	}
	if !colorRE.MatchString(color) {
		return invalid("Label", "color", "invalid", "", docLabels)
	}
	if h.rp.label(name) != nil {
		return invalid("Label", "name", "already_exists", "", docLabels)
	}
	l := &label{id: h.f.st.id(), name: strings.TrimSpace(name), color: strings.ToLower(color)}
	if d, present, isStr := str(fields, "description"); present && isStr {
		l.description = &d
	}
	h.rp.labels = append(h.rp.labels, l)
	return ok(http.StatusCreated, h.u.label(h.rp, l))
}

// issueLabels answers /repos/{o}/{r}/issues/{n}/labels[/{name}]: list,
// add (POST), replace (PUT), remove all (DELETE) or one (DELETE name).
func (h handler) issueLabels() *reply {
	is, rep := h.issueFor()
	if rep != nil {
		return rep
	}
	before := *is
	switch {
	case h.r.Method == http.MethodGet && h.rt.name == "":
		return h.labelList(is)
	case h.r.Method == http.MethodDelete && h.rt.name != "":
		idx := slices.IndexFunc(is.labels, func(l *label) bool { return strings.EqualFold(l.name, h.rt.name) })
		if idx < 0 {
			return errorReply(http.StatusNotFound, "Label does not exist", docRoot)
		}
		is.labels = slices.Delete(slices.Clone(is.labels), idx, idx+1)
	case h.r.Method == http.MethodDelete:
		is.labels = []*label{}
		h.f.issueChanged(&before, is, h.f.opts.Login)
		return &reply{status: http.StatusNoContent, header: http.Header{}}
	case h.r.Method == http.MethodPost || h.r.Method == http.MethodPut:
		names, rep := h.labelNames()
		if rep == nil {
			rep = checkLabels("Label", names)
		}
		if rep != nil {
			return rep
		}
		add := h.labelsFor(names)
		if h.r.Method == http.MethodPost {
			merged := slices.Clone(is.labels)
			for _, l := range add {
				if !slices.Contains(merged, l) {
					merged = append(merged, l)
				}
			}
			add = merged
		}
		is.labels = add
	default:
		return notFound()
	}
	h.f.issueChanged(&before, is, h.f.opts.Login)
	return h.labelList(is)
}

func (h handler) labelList(is *issue) *reply {
	out := []labelJSON{}
	for _, l := range is.labels {
		out = append(out, h.u.label(h.rp, l))
	}
	return ok(http.StatusOK, out)
}

// labelNames reads {"labels": [...]} or a bare JSON array.
func (h handler) labelNames() ([]string, *reply) {
	var raw json.RawMessage
	if err := json.NewDecoder(io.LimitReader(h.r.Body, 1<<20)).Decode(&raw); err != nil {
		return nil, errorReply(http.StatusBadRequest, "Problems parsing JSON", docRoot)
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list, nil
	}
	names, _, valid := strList(map[string]json.RawMessage{"labels": raw}, "labels")
	if !valid {
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return nil, invalid("Label", "labels", "invalid", "", docLabels)
		}
		if names, _, valid = strList(obj, "labels"); !valid {
			return nil, invalid("Label", "labels", "invalid", "", docLabels)
		}
	}
	return names, nil
}

// lock answers PUT and DELETE /repos/{o}/{r}/issues/{n}/lock.
func (h handler) lock() *reply {
	is, rep := h.issueFor()
	if rep != nil {
		return rep
	}
	before := *is
	switch h.r.Method {
	case http.MethodPut:
		fields, rep := h.decode()
		if rep != nil {
			return rep
		}
		reason, _, _ := str(fields, "lock_reason")
		is.locked, is.lockReason = true, reason
	case http.MethodDelete:
		is.locked, is.lockReason = false, ""
	default:
		return notFound()
	}
	h.f.issueChanged(&before, is, h.f.opts.Login)
	return &reply{status: http.StatusNoContent, header: http.Header{}}
}

// milestones answers /repos/{o}/{r}/milestones[/{n}].
func (h handler) milestones() *reply {
	if h.rt.number == 0 {
		switch h.r.Method {
		case http.MethodGet:
			state := orDefault(h.r.URL.Query().Get("state"), "open")
			out := []*milestoneJSON{}
			for _, m := range h.rp.milestones {
				if state == "all" || m.state == state {
					out = append(out, h.u.milestone(h.rp, m))
				}
			}
			return ok(http.StatusOK, out)
		case http.MethodPost:
			return h.writeMilestone(nil)
		}
		return notFound()
	}
	idx := slices.IndexFunc(h.rp.milestones, func(m *milestone) bool { return m.number == h.rt.number })
	if idx < 0 {
		return notFound()
	}
	m := h.rp.milestones[idx]
	switch h.r.Method {
	case http.MethodGet:
		return ok(http.StatusOK, h.u.milestone(h.rp, m))
	case http.MethodPatch:
		return h.writeMilestone(m)
	case http.MethodDelete:
		h.rp.milestones = slices.Delete(h.rp.milestones, idx, idx+1)
		for _, is := range h.rp.issues {
			if is.milestone == m {
				before := *is
				is.milestone = nil
				h.f.issueChanged(&before, is, h.f.opts.Login)
			}
		}
		return &reply{status: http.StatusNoContent, header: http.Header{}}
	}
	return notFound()
}

// writeMilestone creates (m nil) or edits a milestone.
func (h handler) writeMilestone(m *milestone) *reply {
	fields, rep := h.decode()
	if rep != nil {
		return rep
	}
	title, hasTitle, isStr := str(fields, "title")
	if (m == nil || hasTitle) && (!isStr || strings.TrimSpace(title) == "") {
		return invalid("Milestone", "title", "missing_field", "", docMilestones)
	}
	now := stamp(h.f.clock.Now())
	created := m == nil
	if created {
		m = &milestone{id: h.f.st.id(), number: len(h.rp.milestones) + 1, state: "open", created: now, creator: h.f.opts.Login}
		for _, old := range h.rp.milestones {
			m.number = max(m.number, old.number+1)
		}
	}
	if hasTitle {
		m.title = title
	}
	if d, present, _ := str(fields, "description"); present {
		m.description = d
	}
	if s, present, _ := str(fields, "state"); present {
		if s != "open" && s != "closed" {
			return invalid("Milestone", "state", "invalid", "", docMilestones)
		}
		m.state = s
	}
	if raw, present := fields["due_on"]; present {
		due, err := parseDue(raw)
		if err != nil {
			return invalid("Milestone", "due_on", "invalid", err.Error(), docMilestones)
		}
		m.due = due
	}
	m.updated = now
	if created {
		h.rp.milestones = append(h.rp.milestones, m)
		return ok(http.StatusCreated, h.u.milestone(h.rp, m))
	}
	return ok(http.StatusOK, h.u.milestone(h.rp, m))
}

// parseDue reads a milestone due_on: an ISO 8601 time or null.
func parseDue(raw json.RawMessage) (time.Time, error) {
	if isNull(raw) {
		return time.Time{}, nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return time.Time{}, fmt.Errorf("due_on is not a string")
	}
	t, err := parseSince(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("due_on %q is not an ISO 8601 time", v)
	}
	return t, nil
}
