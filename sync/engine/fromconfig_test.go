package engine

import (
	"slices"
	"testing"
)

func TestInternalURLs(t *testing.T) {
	tests := []struct {
		kind, url, project string
		want               []string
	}{
		{"jira", "https://jira.example.com", "PLAT", []string{"jira.example.com"}},
		{"jira", "", "PLAT", nil},
		{"github", "", "example/platform", []string{"github.com/example/platform"}},
		{"github", "https://api.github.com/", "example/platform", []string{"github.com/example/platform"}},
		{"github", "https://ghe.example.com/api/v3/", "ops/pm", []string{"ghe.example.com/ops/pm"}},
		{"gitlab", "", "grp/proj", []string{"gitlab.com/grp/proj"}},
		{"gitlab", "https://gitlab.example.com", "grp/proj", []string{"gitlab.example.com/grp/proj"}},
	}
	for _, tc := range tests {
		if got := InternalURLs(tc.kind, tc.url, tc.project); !slices.Equal(got, tc.want) {
			t.Errorf("InternalURLs(%s, %q, %q) = %v, want %v", tc.kind, tc.url, tc.project, got, tc.want)
		}
	}
}
