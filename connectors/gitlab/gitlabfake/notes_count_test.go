package gitlabfake

import (
	"fmt"
	"testing"
)

// TestUserNotesCount: every issue answer (get, list, update) states
// user_notes_count as the number of non-system notes, internal ones
// included, which is what the notes list holds besides system notes.
func TestUserNotesCount(t *testing.T) {
	s := start(t, Options{})
	create(t, s, map[string]any{"title": "counted"})
	create(t, s, map[string]any{"title": "other"})
	key := proj + "#1"
	issue := "projects/" + projEsc + "/issues/1"

	type step struct {
		name string
		do   func() error
		want int
	}
	steps := []step{
		{"new issue", func() error { return nil }, 0},
		{"API note", func() error {
			call(t, s, "POST", issue+"/notes", map[string]any{"body": "by the bot"}, nil)
			return nil
		}, 1},
		{"internal API note", func() error {
			call(t, s, "POST", issue+"/notes", map[string]any{"body": "internal", "internal": true}, nil)
			return nil
		}, 2},
		{"person's note", func() error { return s.AddComment(key, "bob", "by a person", false) }, 3},
		{"person's internal note", func() error { return s.AddComment(key, "bob", "secret", true) }, 4},
		{"system note", func() error { return s.AddSystemNote(key, "changed the description") }, 4},
		{"edit that writes system notes", func() error {
			call(t, s, "PUT", issue, map[string]any{"title": "renamed", "add_labels": "x"}, nil)
			return nil
		}, 4},
		{"person's edit", func() error {
			title := "renamed again"
			return s.PersonEdit(key, Edit{Title: &title})
		}, 4},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		var got map[string]any
		call(t, s, "GET", issue, nil, &got)
		if n := got["user_notes_count"]; n != float64(st.want) {
			t.Errorf("%s: GET user_notes_count = %v, want %d", st.name, n, st.want)
		}
		var list []map[string]any
		call(t, s, "GET", "projects/"+projEsc+"/issues?order_by=created_at&sort=asc", nil, &list)
		if len(list) != 2 {
			t.Fatalf("%s: list has %d issues, want 2", st.name, len(list))
		}
		if n := list[0]["user_notes_count"]; n != float64(st.want) {
			t.Errorf("%s: list user_notes_count = %v, want %d", st.name, n, st.want)
		}
		if n := list[1]["user_notes_count"]; n != float64(0) {
			t.Errorf("%s: other issue's user_notes_count = %v, want 0", st.name, n)
		}
		var notes []map[string]any
		call(t, s, "GET", issue+"/notes?per_page=100", nil, &notes)
		user := 0
		for _, n := range notes {
			if n["system"] == false {
				user++
			}
		}
		if user != st.want {
			t.Errorf("%s: notes list has %d non-system notes, want %d", st.name, user, st.want)
		}
	}
	var put map[string]any
	call(t, s, "PUT", issue, map[string]any{"title": "answer counts too"}, &put)
	if n := put["user_notes_count"]; n != float64(4) {
		t.Errorf("PUT answer user_notes_count = %v, want 4", n)
	}
	if got := fmt.Sprint(put["title"]); got != "answer counts too" {
		t.Errorf("PUT answer title = %q, want %q", got, "answer counts too")
	}
}
