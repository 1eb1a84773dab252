package connectors

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
)

// A marker is the hidden tag pmsync writes into every issue and comment it
// creates, so that a create whose answer was lost can be found again and the
// whole mapping can be rebuilt from the trackers alone. Its id is opaque: it
// names no tracker, key or customer.
//
// In Markdown bodies (GitHub, GitLab, memory) it is an HTML comment on its own
// line at the end: "<!-- pmsync:ID -->". Jira stores it in an issue entity
// property and a label; see the jira package.

// markerRE matches a marker comment and captures the id.
var markerRE = regexp.MustCompile(`(?m)\n*<!-- pmsync:([a-z0-9][a-z0-9-]{0,63}) -->[ \t]*\n?`)

// MarkerID derives the marker id for mirroring the item with stable id
// originID on tracker originTracker into tracker target. The id is an HMAC
// under key, so it is deterministic (the same pair always gets the same
// marker, even after the store is lost) and reveals nothing of its inputs
// without the key.
func MarkerID(key []byte, originTracker, originID, target string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("pmsync-link-v1\x00" + originTracker + "\x00" + originID + "\x00" + target))
	return hex.EncodeToString(m.Sum(nil))[:24]
}

// ValidMarker reports whether id can be embedded as a marker.
func ValidMarker(id string) bool {
	return id != "" && markerRE.MatchString("<!-- pmsync:"+id+" -->") && !strings.ContainsAny(id, " \n")
}

// EmbedMarker appends the marker comment for id to a Markdown body. An empty
// id returns body unchanged.
func EmbedMarker(body, id string) string {
	if id == "" {
		return body
	}
	body = strings.TrimRight(body, "\n")
	if body == "" {
		return "<!-- pmsync:" + id + " -->"
	}
	return body + "\n\n<!-- pmsync:" + id + " -->"
}

// ExtractMarker finds the first marker in a Markdown body and returns the id
// and the body without any marker comment.
func ExtractMarker(body string) (id, rest string) {
	m := markerRE.FindStringSubmatch(body)
	if m == nil {
		return "", body
	}
	rest = markerRE.ReplaceAllString(body, "\n")
	return m[1], strings.TrimRight(rest, "\n")
}

// HasMarker reports whether body carries the marker id.
func HasMarker(body, id string) bool {
	return strings.Contains(body, "<!-- pmsync:"+id+" -->")
}
