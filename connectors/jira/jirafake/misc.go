package jirafake

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
)

func (s *Server) handleMyself(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, _ := s.userJSON(baseURL(r), s.handle(s.opts.Me)).(map[string]any)
	u["emailAddress"] = s.opts.Me.Email
	u["locale"] = "en_US"
	u["groups"] = map[string]any{"size": 1, "items": []any{}}
	u["applicationRoles"] = map[string]any{"size": 1, "items": []any{}}
	u["expand"] = "groups,applicationRoles"
	if s.opts.HideTimeZone {
		delete(u, "timeZone")
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) handleServerInfo(w http.ResponseWriter, r *http.Request) {
	info := map[string]any{"baseUrl": baseURL(r), "serverTitle": "Jira", "scmInfo": "jirafake"}
	if s.opts.Flavor == Cloud {
		info["version"], info["deploymentType"], info["buildNumber"] = "1001.0.0-SNAPSHOT", "Cloud", 100283
	} else {
		info["version"], info["deploymentType"], info["buildNumber"] = "9.12.2", "Server", 9120002
		info["versionNumbers"] = []int{9, 12, 2}
	}
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) handlePriorities(w http.ResponseWriter, r *http.Request) {
	base := baseURL(r)
	out := make([]any, 0, len(s.opts.Priorities))
	for _, p := range s.opts.Priorities {
		pj, _ := s.priorityJSON(base, p).(map[string]any)
		pj["statusColor"], pj["description"] = "#cccccc", p+" priority"
		out = append(out, pj)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleResolutions(w http.ResponseWriter, r *http.Request) {
	base := baseURL(r)
	out := make([]any, 0, len(s.opts.Resolutions))
	for _, name := range s.opts.Resolutions {
		out = append(out, s.resolutionJSON(base, name))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handlePropertyKeys(w http.ResponseWriter, r *http.Request, key string) {
	it := s.lockIssue(w, key)
	if it == nil {
		return
	}
	defer s.mu.Unlock()
	base := baseURL(r)
	names := make([]string, 0, len(it.props))
	for k := range it.props {
		names = append(names, k)
	}
	slices.Sort(names)
	keys := make([]any, 0, len(names))
	for _, k := range names {
		keys = append(keys, map[string]string{"self": base + "/rest/api/2/issue/" + strconv.Itoa(it.id) + "/properties/" + k, "key": k})
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

// handleProperty reads, sets or deletes one entity property. Properties are
// not fields: writing one does not change the issue's updated time.
func (s *Server) handleProperty(w http.ResponseWriter, r *http.Request, key, prop string) {
	var raw json.RawMessage
	if r.Method == http.MethodPut {
		var err error
		if raw, err = readRaw(r); err != nil {
			jiraError(w, http.StatusBadRequest, []string{"The property value must be valid JSON."}, nil)
			return
		}
		if len(raw) > 32768 || len(prop) > 255 {
			jiraError(w, http.StatusBadRequest, []string{"The property value must be valid JSON of at most 32768 bytes."}, nil)
			return
		}
	}
	it := s.lockIssue(w, key)
	if it == nil {
		return
	}
	defer s.mu.Unlock()
	v, exists := it.props[prop]
	switch r.Method {
	case http.MethodGet:
		if !exists {
			jiraError(w, http.StatusNotFound, []string{"The property with key '" + prop + "' does not exist."}, nil)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"key": prop, "value": v})
	case http.MethodPut:
		if s.overWriteLimit(w, it.id) {
			return
		}
		it.props[prop] = raw
		s.clock.Tick()
		s.indexLocked(it, it.clone())
		if exists {
			w.WriteHeader(http.StatusOK)
		} else {
			w.WriteHeader(http.StatusCreated)
		}
	case http.MethodDelete:
		if !exists {
			jiraError(w, http.StatusNotFound, []string{"The property with key '" + prop + "' does not exist."}, nil)
			return
		}
		delete(it.props, prop)
		w.WriteHeader(http.StatusNoContent)
	default:
		notFound(w, r)
	}
}

// handleRemoteLinks lists remote links (optionally by globalId) or creates
// one; a POST with a globalId already present updates that link.
func (s *Server) handleRemoteLinks(w http.ResponseWriter, r *http.Request, key string) {
	var body map[string]any
	if r.Method == http.MethodPost {
		if !decodeBody(w, r, &body, "The remote link is not valid JSON.") {
			return
		}
	}
	it := s.lockIssue(w, key)
	if it == nil {
		return
	}
	defer s.mu.Unlock()
	base := baseURL(r) + "/rest/api/2/issue/" + strconv.Itoa(it.id) + "/remotelink/"
	render := func(l *remoteLink) map[string]any {
		out := map[string]any{}
		for k, v := range l.raw {
			out[k] = v
		}
		out["id"], out["self"] = l.id, base+strconv.Itoa(l.id)
		return out
	}
	switch r.Method {
	case http.MethodGet:
		gid := r.URL.Query().Get("globalId")
		out := []any{}
		for _, l := range it.links {
			if gid == "" || l.globalID == gid {
				out = append(out, render(l))
			}
		}
		if gid != "" && len(out) == 1 {
			writeJSON(w, http.StatusOK, out[0])
			return
		}
		writeJSON(w, http.StatusOK, out)
	case http.MethodPost:
		obj, _ := body["object"].(map[string]any)
		if obj == nil || obj["url"] == nil || obj["title"] == nil {
			jiraError(w, http.StatusBadRequest, nil, map[string]string{"object": "The remote link needs an object with url and title."})
			return
		}
		gid, _ := body["globalId"].(string)
		for _, l := range it.links {
			if gid != "" && l.globalID == gid {
				l.raw, l.object = body, obj
				writeJSON(w, http.StatusOK, map[string]any{"id": l.id, "self": base + strconv.Itoa(l.id)})
				return
			}
		}
		l := &remoteLink{id: s.nextLink, globalID: gid, object: obj, raw: body}
		s.nextLink++
		it.links = append(it.links, l)
		s.touch(it)
		writeJSON(w, http.StatusCreated, map[string]any{"id": l.id, "self": base + strconv.Itoa(l.id)})
	default:
		notFound(w, r)
	}
}
