package jirafake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// writeBody is the body of create and edit requests.
type writeBody struct {
	Fields     map[string]json.RawMessage              `json:"fields"`
	Update     map[string][]map[string]json.RawMessage `json:"update"`
	Properties []struct {
		Key   string          `json:"key"`
		Value json.RawMessage `json:"value"`
	} `json:"properties"`
}

// change is a validated set of field values, applied all at once.
type change struct {
	summary     *string
	description **string
	labels      *[]string
	due         *string
	priority    *string
	assignee    *string
	issueType   *string
	reporter    *string
}

// changelogItem is one entry of a webhook changelog.
type changelogItem struct {
	Field      string  `json:"field"`
	FieldType  string  `json:"fieldtype"`
	FieldID    string  `json:"fieldId,omitempty"`
	From       *string `json:"from"`
	FromString *string `json:"fromString"`
	To         *string `json:"to"`
	ToString   *string `json:"toString"`
}

var createScreen = []string{"project", "issuetype", "summary", "description", "labels", "duedate", "priority", "assignee", "reporter"}
var editScreen = []string{"summary", "description", "labels", "duedate", "priority", "assignee"}

func notOnScreen(field string) string {
	return fmt.Sprintf("Field '%s' cannot be set. It is not on the appropriate screen, or unknown.", field)
}

// parseFields validates the fields of a create or edit. Callers hold s.mu.
func (s *Server) parseFields(fields map[string]json.RawMessage, screen []string) (change, map[string]string) {
	var c change
	errs := map[string]string{}
	for name, raw := range fields {
		if !slices.Contains(screen, name) {
			errs[name] = notOnScreen(name)
			continue
		}
		isNull := string(raw) == "null"
		switch name {
		case "summary":
			var v string
			if json.Unmarshal(raw, &v) != nil || strings.TrimSpace(v) == "" {
				errs[name] = "You must specify a summary of the issue."
			} else if len([]rune(v)) > 255 {
				errs[name] = "Summary must be less than 255 characters."
			} else {
				c.summary = &v
			}
		case "description":
			var v *string
			if !isNull {
				v = new(string)
				if json.Unmarshal(raw, v) != nil {
					errs[name] = "Operation value must be a string"
					continue
				}
			}
			c.description = &v
		case "labels":
			var v []string
			if json.Unmarshal(raw, &v) != nil && !isNull {
				errs[name] = "Operation value must be an array of strings"
			} else if msg := checkLabels(v); msg != "" {
				errs[name] = msg
			} else {
				c.labels = &v
			}
		case "duedate":
			v := ""
			if !isNull {
				if json.Unmarshal(raw, &v) != nil {
					errs[name] = "Operation value must be a string"
					continue
				}
				if _, err := time.Parse("2006-01-02", v); err != nil {
					errs[name] = "Error parsing date string: " + v
					continue
				}
			}
			c.due = &v
		case "priority":
			if isNull {
				p := s.opts.DefaultPriority // Jira applies the scheme's default
				c.priority = &p
			} else if p, ok := s.namedValue(raw, s.opts.Priorities); ok {
				c.priority = &p
			} else {
				errs[name] = "Specify a valid priority id or name"
			}
		case "assignee", "reporter":
			h, msg := s.parseUser(raw)
			if msg != "" {
				errs[name] = msg
			} else if name == "assignee" {
				c.assignee = &h
			} else {
				c.reporter = &h
			}
		case "issuetype":
			if t, ok := s.namedValue(raw, []string{"Task", "Bug", "Story"}); ok {
				c.issueType = &t
			} else {
				errs[name] = "Specify a valid issue type"
			}
		case "project":
			var p struct{ Key, ID string }
			if json.Unmarshal(raw, &p) != nil || (!strings.EqualFold(p.Key, s.opts.Project) && p.ID != "10000") {
				errs[name] = "Specify a valid project ID or key"
			}
		}
	}
	return c, errs
}

// namedValue reads {"name":x} or {"id":"n"} (1-based index) from allowed.
func (s *Server) namedValue(raw json.RawMessage, allowed []string) (string, bool) {
	var v struct{ Name, ID string }
	if json.Unmarshal(raw, &v) != nil {
		return "", false
	}
	for i, a := range allowed {
		if (v.Name != "" && v.Name == a) || (v.ID != "" && v.ID == strconv.Itoa(i+1)) {
			return a, true
		}
	}
	return "", false
}

// parseUser reads a user reference as the flavour expects it.
func (s *Server) parseUser(raw json.RawMessage) (string, string) {
	if string(raw) == "null" {
		return "", ""
	}
	var v struct {
		AccountID *string `json:"accountId"`
		Name      *string `json:"name"`
	}
	if json.Unmarshal(raw, &v) != nil {
		return "", "Operation value must be a user object"
	}
	ref := v.Name
	if s.opts.Flavor == Cloud {
		if v.AccountID == nil && v.Name != nil {
			return "", "'accountId' must be the only user identifying query parameter in GDPR strict mode."
		}
		ref = v.AccountID
	}
	if ref == nil {
		return "", "Operation value must be a user object"
	}
	if *ref == "" || *ref == "-1" {
		return "", ""
	}
	if _, ok := s.users[*ref]; !ok {
		if s.opts.Flavor == Cloud {
			return "", "Specified user does not exist or you do not have required permissions"
		}
		return "", fmt.Sprintf("User '%s' does not exist.", *ref)
	}
	return *ref, ""
}

func checkLabels(labels []string) string {
	for _, l := range labels {
		if strings.ContainsAny(l, " \t\n") {
			return fmt.Sprintf("The label '%s' contains spaces which is invalid.", l)
		}
		if l == "" || len(l) > 255 {
			return "The label must be between 1 and 255 characters."
		}
	}
	return ""
}

// apply sets the fields of c on it and returns the changelog.
func (s *Server) apply(it *issue, c change) []changelogItem {
	var log []changelogItem
	set := func(field, from, to string) {
		if from != to {
			log = append(log, changelogItem{Field: field, FieldType: "jira", FieldID: field, FromString: &from, ToString: &to})
		}
	}
	if c.summary != nil {
		set("summary", it.summary, *c.summary)
		it.summary = *c.summary
	}
	if c.description != nil {
		set("description", deref(it.description), deref(*c.description))
		it.description = *c.description
	}
	if c.labels != nil {
		set("labels", strings.Join(it.labels, " "), strings.Join(*c.labels, " "))
		it.labels = dedupe(*c.labels)
	}
	if c.due != nil {
		set("duedate", it.due, *c.due)
		it.due = *c.due
	}
	if c.priority != nil {
		set("priority", it.priority, *c.priority)
		it.priority = *c.priority
	}
	if c.assignee != nil {
		set("assignee", it.assignee, *c.assignee)
		it.assignee = *c.assignee
	}
	if c.issueType != nil {
		it.issueType = *c.issueType
	}
	if c.reporter != nil {
		it.reporter = *c.reporter
	}
	return log
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func dedupe(l []string) []string {
	var out []string
	for _, v := range l {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request) {
	var body writeBody
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Fields == nil {
		jiraError(w, http.StatusBadRequest, []string{"Can not deserialize the issue: the body must be a JSON object with \"fields\"."}, nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, errs := s.parseFields(body.Fields, createScreen)
	for _, f := range []string{"project", "issuetype", "summary"} {
		if _, ok := body.Fields[f]; !ok {
			errs[f] = map[string]string{"project": "Specify a valid project ID or key", "issuetype": "Specify an issue type",
				"summary": "You must specify a summary of the issue."}[f]
		}
	}
	if msg := checkProperties(body.Properties); msg != "" {
		errs["properties"] = msg
	}
	if len(errs) > 0 {
		jiraError(w, http.StatusBadRequest, nil, errs)
		return
	}
	now := s.clock.Tick()
	it := &issue{
		id: s.nextID, num: s.nextNum, key: s.opts.Project + "-" + strconv.Itoa(s.nextNum),
		status: s.opts.Workflow.Initial, priority: s.opts.DefaultPriority, reporter: s.handle(s.opts.Me),
		created: now, updated: now, props: map[string]json.RawMessage{},
	}
	s.nextID++
	s.nextNum++
	s.apply(it, c)
	if len(body.Update["labels"]) > 0 {
		s.applyLabelOps(it, body.Update["labels"])
	}
	for _, p := range body.Properties {
		it.props[p.Key] = p.Value
	}
	s.issues[it.id] = it
	s.byKey[it.key] = it.id
	s.indexLocked(it, it.clone())
	base := baseURL(r)
	s.emitIssue(base, "jira:issue_created", "issue_created", it, nil)
	writeJSON(w, http.StatusCreated, map[string]string{"id": strconv.Itoa(it.id), "key": it.key, "self": base + "/rest/api/2/issue/" + strconv.Itoa(it.id)})
}

func checkProperties(props []struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}) string {
	for _, p := range props {
		if p.Key == "" || len(p.Key) > 255 {
			return "The property key must be between 1 and 255 characters."
		}
		if len(p.Value) == 0 || len(p.Value) > 32768 {
			return "The property value must be valid JSON of at most 32768 bytes."
		}
	}
	return ""
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request, key string) {
	it := s.lockIssue(w, key)
	if it == nil {
		return
	}
	defer s.mu.Unlock()
	q := r.URL.Query()
	want := fieldSet(parseList(strings.Join(q["fields"], ",")))
	writeJSON(w, http.StatusOK, s.issueJSON(baseURL(r), it, want, parseList(strings.Join(q["properties"], ","))))
}

func (s *Server) handleEdit(w http.ResponseWriter, r *http.Request, key string) {
	var body writeBody
	if !decodeBody(w, r, &body, "Can not deserialize the edit: the body is not valid JSON.") {
		return
	}
	it := s.lockIssueForWrite(w, key)
	if it == nil {
		return
	}
	defer s.mu.Unlock()
	c, errs := s.parseFields(body.Fields, editScreen)
	for name, ops := range body.Update {
		if name != "labels" {
			errs[name] = notOnScreen(name)
			continue
		}
		if msg := checkLabelOps(ops); msg != "" {
			errs[name] = msg
		}
	}
	if len(errs) > 0 {
		jiraError(w, http.StatusBadRequest, nil, errs)
		return
	}
	before := it.clone()
	log := s.apply(it, c)
	if ops := body.Update["labels"]; len(ops) > 0 {
		s.applyLabelOps(it, ops)
		if !slices.Equal(before.labels, it.labels) && c.labels == nil {
			from, to := strings.Join(before.labels, " "), strings.Join(it.labels, " ")
			log = append(log, changelogItem{Field: "labels", FieldType: "jira", FieldID: "labels", FromString: &from, ToString: &to})
		}
	}
	if len(log) > 0 {
		s.touch(it)
		s.emitIssue(baseURL(r), "jira:issue_updated", "issue_updated", it, log)
	}
	w.WriteHeader(http.StatusNoContent)
}

func checkLabelOps(ops []map[string]json.RawMessage) string {
	for _, op := range ops {
		for verb, raw := range op {
			var labels []string
			switch verb {
			case "add", "remove":
				var l string
				if json.Unmarshal(raw, &l) != nil {
					return "Operation value must be a string"
				}
				labels = []string{l}
			case "set":
				if json.Unmarshal(raw, &labels) != nil {
					return "Operation value must be an array of strings"
				}
			default:
				return fmt.Sprintf("Operation '%s' is not supported for field 'labels'.", verb)
			}
			if verb != "remove" {
				if msg := checkLabels(labels); msg != "" {
					return msg
				}
			}
		}
	}
	return ""
}

func (s *Server) applyLabelOps(it *issue, ops []map[string]json.RawMessage) {
	for _, op := range ops {
		for verb, raw := range op {
			switch verb {
			case "add":
				var l string
				_ = json.Unmarshal(raw, &l)
				it.labels = dedupe(append(it.labels, l))
			case "remove":
				var l string
				_ = json.Unmarshal(raw, &l)
				it.labels = slices.DeleteFunc(it.labels, func(x string) bool { return x == l })
			case "set":
				var l []string
				_ = json.Unmarshal(raw, &l)
				it.labels = dedupe(l)
			}
		}
	}
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request, key string) {
	it := s.lockIssue(w, key)
	if it == nil {
		return
	}
	defer s.mu.Unlock()
	s.deleteLocked(baseURL(r), it)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) deleteLocked(base string, it *issue) {
	it.deleted = true
	s.clock.Tick()
	s.indexLocked(it, nil)
	s.emitIssue(base, "jira:issue_deleted", "issue_deleted", it, nil)
}

func (s *Server) handleAssign(w http.ResponseWriter, r *http.Request, key string) {
	raw, err := readRaw(r)
	if err != nil {
		jiraError(w, http.StatusBadRequest, []string{err.Error()}, nil)
		return
	}
	it := s.lockIssueForWrite(w, key)
	if it == nil {
		return
	}
	defer s.mu.Unlock()
	h, msg := s.parseUser(raw)
	if msg != "" {
		jiraError(w, http.StatusBadRequest, nil, map[string]string{"assignee": msg})
		return
	}
	if log := s.apply(it, change{assignee: &h}); len(log) > 0 {
		s.touch(it)
		s.emitIssue(baseURL(r), "jira:issue_updated", "issue_assigned", it, log)
	}
	w.WriteHeader(http.StatusNoContent)
}

func readRaw(r *http.Request) (json.RawMessage, error) {
	var raw json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		return nil, fmt.Errorf("the body is not valid JSON")
	}
	return raw, nil
}
