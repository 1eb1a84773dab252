package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The simulators' direct-drive methods play people editing items in the
// web UI. GitHub and GitLab have no such method for opening an issue, so
// people open theirs through the REST API, as a script of theirs would.

// openGitHubIssue opens an issue in repo and returns its key
// ("owner/repo#N").
func openGitHubIssue(ctx context.Context, base, repo, title, body string, labels []string) (string, error) {
	var out struct {
		Number int `json:"number"`
	}
	in := map[string]any{"title": title, "body": body, "labels": labels}
	if err := postJSON(ctx, base+"/repos/"+repo+"/issues", map[string]string{"Authorization": "Bearer " + githubToken}, in, &out); err != nil {
		return "", fmt.Errorf("demo: open GitHub issue %q: %w", title, err)
	}
	return fmt.Sprintf("%s#%d", repo, out.Number), nil
}

// openGitLabIssue opens an issue in project and returns its key
// ("group/project#IID").
func openGitLabIssue(ctx context.Context, base, project, title, body string, labels []string) (string, error) {
	var out struct {
		IID int `json:"iid"`
	}
	in := map[string]any{"title": title, "description": body, "labels": strings.Join(labels, ",")}
	u := base + "/api/v4/projects/" + url.PathEscape(project) + "/issues"
	if err := postJSON(ctx, u, map[string]string{"PRIVATE-TOKEN": gitlabToken}, in, &out); err != nil {
		return "", fmt.Errorf("demo: open GitLab issue %q: %w", title, err)
	}
	return fmt.Sprintf("%s#%d", project, out.IID), nil
}

func postJSON(ctx context.Context, u string, headers map[string]string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return json.Unmarshal(data, out)
}
