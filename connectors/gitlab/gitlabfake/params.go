package gitlabfake

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxBody bounds request bodies, like GitLab's request size limit.
const maxBody = 4 << 20

// form holds a request's parameters: a JSON object body, or form values
// and the query string, as Grape merges them.
type form struct {
	obj   map[string]json.RawMessage
	query url.Values
}

func readForm(r *http.Request) (*form, error) {
	f := &form{query: r.URL.Query()}
	if r.Body == nil {
		return f, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("reading body: %w", err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("body larger than %d bytes", maxBody)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return f, nil
	}
	if ct == "application/json" {
		if err := json.Unmarshal(body, &f.obj); err != nil {
			return nil, fmt.Errorf("body is not a JSON object")
		}
		return f, nil
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("body is not form-encoded")
	}
	for k, v := range vals {
		f.query[k] = v
	}
	return f, nil
}

// raw returns the JSON value of key, or its form value as a JSON string.
func (f *form) raw(key string) (json.RawMessage, bool) {
	if v, ok := f.obj[key]; ok {
		return v, true
	}
	if vs, ok := f.query[key]; ok && len(vs) > 0 {
		b, _ := json.Marshal(vs[len(vs)-1])
		return b, true
	}
	return nil, false
}

func (f *form) has(key string) bool {
	_, ok := f.raw(key)
	if !ok {
		_, ok = f.query[key+"[]"]
	}
	return ok
}

// isNull reports whether key is present as JSON null or an empty value.
func (f *form) isNull(key string) bool {
	v, ok := f.raw(key)
	return ok && (string(v) == "null" || string(v) == `""`)
}

func (f *form) str(key string) (string, bool, error) {
	v, ok := f.raw(key)
	if !ok || string(v) == "null" {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", true, fmt.Errorf("%s is invalid", key)
	}
	return s, true, nil
}

func (f *form) boolean(key string) (bool, bool, error) {
	v, ok := f.raw(key)
	if !ok || string(v) == "null" {
		return false, false, nil
	}
	var b bool
	if err := json.Unmarshal(v, &b); err == nil {
		return b, true, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		if b, err := strconv.ParseBool(s); err == nil {
			return b, true, nil
		}
	}
	return false, true, fmt.Errorf("%s is invalid", key)
}

// list reads a comma-separated string or a JSON array of strings.
func (f *form) list(key string) ([]string, bool, error) {
	v, ok := f.raw(key)
	if !ok {
		if vs, ok := f.query[key+"[]"]; ok {
			return cleanList(vs), true, nil
		}
		return nil, false, nil
	}
	if string(v) == "null" {
		return nil, true, nil
	}
	var arr []string
	if err := json.Unmarshal(v, &arr); err == nil {
		return cleanList(arr), true, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, true, fmt.Errorf("%s is invalid", key)
	}
	return cleanList(strings.Split(s, ",")), true, nil
}

func cleanList(in []string) []string {
	out := []string{}
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// ids reads a JSON array of numbers, a comma list or key[] values.
func (f *form) ids(key string) ([]int64, bool, error) {
	v, ok := f.raw(key)
	if ok && string(v) != "null" {
		var arr []int64
		if err := json.Unmarshal(v, &arr); err == nil {
			return arr, true, nil
		}
	}
	strs, ok, err := f.list(key)
	if !ok || err != nil {
		return nil, ok, err
	}
	out := []int64{}
	for _, s := range strs {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, true, fmt.Errorf("%s is invalid", key)
		}
		out = append(out, n)
	}
	return out, true, nil
}

// parseQueryTime reads an ISO 8601 time or date from a query parameter.
func parseQueryTime(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", time.DateOnly} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not an ISO 8601 time")
}

func badRequest(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg})
}

func fieldError(w http.ResponseWriter, field, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"message": map[string][]string{field: {msg}}})
}

func notFound(w http.ResponseWriter, what string) {
	writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 " + what + " Not Found"})
}
