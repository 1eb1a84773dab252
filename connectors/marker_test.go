package connectors

import (
	"strings"
	"testing"
)

func TestMarkerID(t *testing.T) {
	key := []byte("k")
	a := MarkerID(key, "platform", "10042", "janecorp")
	if a != MarkerID(key, "platform", "10042", "janecorp") {
		t.Fatal("marker id is not deterministic")
	}
	for _, other := range []string{
		MarkerID(key, "platform", "10042", "acme"),
		MarkerID(key, "platform", "10043", "janecorp"),
		MarkerID([]byte("other"), "platform", "10042", "janecorp"),
	} {
		if other == a {
			t.Errorf("different inputs gave the same marker %s", a)
		}
	}
	if !ValidMarker(a) || len(a) != 24 {
		t.Errorf("marker %q: want 24 valid characters", a)
	}
	for _, leak := range []string{"platform", "10042", "janecorp"} {
		if strings.Contains(a, leak) {
			t.Errorf("marker %q reveals %q", a, leak)
		}
	}
}

func TestEmbedExtractMarker(t *testing.T) {
	cases := []struct{ body, id string }{
		{"", "abc123"},
		{"Fix the cache.", "abc123"},
		{"Line one\n\nLine two\n\n\n", "0f9e"},
		{"Unicode ✓ 日本語", "a-b"},
	}
	for _, c := range cases {
		got := EmbedMarker(c.body, c.id)
		if !HasMarker(got, c.id) {
			t.Errorf("EmbedMarker(%q) = %q lacks the marker", c.body, got)
		}
		id, rest := ExtractMarker(got)
		if id != c.id {
			t.Errorf("ExtractMarker id: got %q, want %q", id, c.id)
		}
		if want := strings.TrimRight(c.body, "\n"); rest != want {
			t.Errorf("ExtractMarker rest: got %q, want %q", rest, want)
		}
	}
	if id, rest := ExtractMarker("no marker here"); id != "" || rest != "no marker here" {
		t.Errorf("body without marker changed: %q %q", id, rest)
	}
	if EmbedMarker("x", "") != "x" {
		t.Errorf("empty id must not add a marker")
	}
	if ValidMarker("has space") || ValidMarker("") || ValidMarker("UPPER") {
		t.Errorf("ValidMarker accepted an invalid id")
	}
}
