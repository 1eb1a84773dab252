package githubfake

import (
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"strings"
	"time"
)

// state is everything the fake stores. Guarded by Fake.mu.
type state struct {
	repos    map[string]*repo // by lower-case full name
	byID     map[int64]*repo
	comments map[int64]*comment
	nextID   int64
}

func newState() *state {
	return &state{repos: map[string]*repo{}, byID: map[int64]*repo{}, comments: map[int64]*comment{}, nextID: 1000}
}

func (s *state) id() int64 {
	s.nextID++
	return s.nextID
}

type repo struct {
	id          int64
	owner, name string
	issues      []*issue // index number-1; pull requests share the numbering
	labels      []*label
	milestones  []*milestone
}

func (r *repo) fullName() string { return r.owner + "/" + r.name }

func (r *repo) issue(number int) *issue {
	if number < 1 || number > len(r.issues) {
		return nil
	}
	return r.issues[number-1]
}

func (r *repo) label(name string) *label {
	for _, l := range r.labels {
		if strings.EqualFold(l.name, name) {
			return l
		}
	}
	return nil
}

type label struct {
	id          int64
	name, color string
	description *string
}

type milestone struct {
	id                              int64
	number                          int
	title, description, state       string
	due, created, updated, closedAt time.Time
	creator                         string
}

type issue struct {
	id         int64
	number     int
	repo       *repo
	title      string
	body       *string // nil is JSON null
	user       string
	labels     []*label
	assignees  []string
	state      string // open | closed
	reason     string // state_reason; "" is null
	milestone  *milestone
	locked     bool
	lockReason string
	created    time.Time
	updated    time.Time
	closedAt   time.Time
	closedBy   string
	pr         bool
	deleted    bool
	comments   []*comment
	snaps      []snapshot // versions waiting to reach the search index
}

type comment struct {
	id         int64
	issue      *issue
	user, body string
	created    time.Time
	updated    time.Time
	deleted    bool
}

// urls turns the API base into the URLs GitHub puts in payloads.
type urls struct{ api, html string }

func urlsFor(base string) urls {
	html := base
	if b, ok := strings.CutSuffix(base, "api/v3/"); ok {
		html = b
	}
	return urls{api: base, html: html}
}

// strPtr returns a pointer to a copy of s. The JSON views never point
// into the model: a view may outlive f.mu (webhook payloads, search
// snapshots), and the model changes under the next writer.
func strPtr(s string) *string { return &s }

// copyStr returns a pointer to a copy of *s, or nil.
func copyStr(s *string) *string {
	if s == nil {
		return nil
	}
	return strPtr(*s)
}

func nodeID(kind string, id int64) string {
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("%s:%d", kind, id)))
}

func userID(login string) int64 {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(login)))
	return int64(h.Sum32()%1_000_000) + 1
}

type userJSON struct {
	Login             string `json:"login"`
	ID                int64  `json:"id"`
	NodeID            string `json:"node_id"`
	AvatarURL         string `json:"avatar_url"`
	GravatarID        string `json:"gravatar_id"`
	URL               string `json:"url"`
	HTMLURL           string `json:"html_url"`
	FollowersURL      string `json:"followers_url"`
	FollowingURL      string `json:"following_url"`
	GistsURL          string `json:"gists_url"`
	StarredURL        string `json:"starred_url"`
	SubscriptionsURL  string `json:"subscriptions_url"`
	OrganizationsURL  string `json:"organizations_url"`
	ReposURL          string `json:"repos_url"`
	EventsURL         string `json:"events_url"`
	ReceivedEventsURL string `json:"received_events_url"`
	Type              string `json:"type"`
	SiteAdmin         bool   `json:"site_admin"`
}

func (u urls) user(login string) *userJSON {
	if login == "" {
		return nil
	}
	api := u.api + "users/" + login
	typ := "User"
	if strings.HasSuffix(login, "[bot]") {
		typ = "Bot"
	}
	return &userJSON{
		Login: login, ID: userID(login), NodeID: nodeID("User", userID(login)),
		AvatarURL:    u.html + "avatars/u/" + fmt.Sprint(userID(login)),
		URL:          api,
		HTMLURL:      u.html + login,
		FollowersURL: api + "/followers", FollowingURL: api + "/following{/other_user}",
		GistsURL: api + "/gists{/gist_id}", StarredURL: api + "/starred{/owner}{/repo}",
		SubscriptionsURL: api + "/subscriptions", OrganizationsURL: api + "/orgs",
		ReposURL: api + "/repos", EventsURL: api + "/events{/privacy}",
		ReceivedEventsURL: api + "/received_events", Type: typ,
	}
}

type labelJSON struct {
	ID          int64   `json:"id"`
	NodeID      string  `json:"node_id"`
	URL         string  `json:"url"`
	Name        string  `json:"name"`
	Color       string  `json:"color"`
	Default     bool    `json:"default"`
	Description *string `json:"description"`
}

func (u urls) label(r *repo, l *label) labelJSON {
	return labelJSON{ID: l.id, NodeID: nodeID("Label", l.id), URL: u.api + "repos/" + r.fullName() + "/labels/" + l.name,
		Name: l.name, Color: l.color, Description: copyStr(l.description)}
}

type milestoneJSON struct {
	URL          string    `json:"url"`
	HTMLURL      string    `json:"html_url"`
	LabelsURL    string    `json:"labels_url"`
	ID           int64     `json:"id"`
	NodeID       string    `json:"node_id"`
	Number       int       `json:"number"`
	Title        string    `json:"title"`
	Description  *string   `json:"description"`
	Creator      *userJSON `json:"creator"`
	OpenIssues   int       `json:"open_issues"`
	ClosedIssues int       `json:"closed_issues"`
	State        string    `json:"state"`
	CreatedAt    string    `json:"created_at"`
	UpdatedAt    string    `json:"updated_at"`
	DueOn        *string   `json:"due_on"`
	ClosedAt     *string   `json:"closed_at"`
}

func (u urls) milestone(r *repo, m *milestone) *milestoneJSON {
	if m == nil {
		return nil
	}
	api := u.api + "repos/" + r.fullName() + "/milestones/" + fmt.Sprint(m.number)
	out := &milestoneJSON{URL: api, HTMLURL: u.html + r.fullName() + "/milestone/" + fmt.Sprint(m.number),
		LabelsURL: api + "/labels", ID: m.id, NodeID: nodeID("Milestone", m.id), Number: m.number, Title: m.title,
		Creator: u.user(m.creator), State: m.state, CreatedAt: ghTime(m.created), UpdatedAt: ghTime(m.updated),
		DueOn: ghTimePtr(m.due), ClosedAt: ghTimePtr(m.closedAt)}
	if m.description != "" {
		out.Description = strPtr(m.description)
	}
	for _, is := range r.issues {
		if is.milestone == m && !is.deleted {
			if is.state == "open" {
				out.OpenIssues++
			} else {
				out.ClosedIssues++
			}
		}
	}
	return out
}

type reactionsJSON struct {
	URL        string `json:"url"`
	TotalCount int    `json:"total_count"`
	PlusOne    int    `json:"+1"`
	MinusOne   int    `json:"-1"`
	Laugh      int    `json:"laugh"`
	Hooray     int    `json:"hooray"`
	Confused   int    `json:"confused"`
	Heart      int    `json:"heart"`
	Rocket     int    `json:"rocket"`
	Eyes       int    `json:"eyes"`
}

type pullLinksJSON struct {
	URL      string  `json:"url"`
	HTMLURL  string  `json:"html_url"`
	DiffURL  string  `json:"diff_url"`
	PatchURL string  `json:"patch_url"`
	MergedAt *string `json:"merged_at"`
}

type issueJSON struct {
	URL                   string         `json:"url"`
	RepositoryURL         string         `json:"repository_url"`
	LabelsURL             string         `json:"labels_url"`
	CommentsURL           string         `json:"comments_url"`
	EventsURL             string         `json:"events_url"`
	HTMLURL               string         `json:"html_url"`
	ID                    int64          `json:"id"`
	NodeID                string         `json:"node_id"`
	Number                int            `json:"number"`
	Title                 string         `json:"title"`
	User                  *userJSON      `json:"user"`
	Labels                []labelJSON    `json:"labels"`
	State                 string         `json:"state"`
	Locked                bool           `json:"locked"`
	Draft                 bool           `json:"draft"`
	Assignee              *userJSON      `json:"assignee"`
	Assignees             []*userJSON    `json:"assignees"`
	Milestone             *milestoneJSON `json:"milestone"`
	Comments              int            `json:"comments"`
	CreatedAt             string         `json:"created_at"`
	UpdatedAt             string         `json:"updated_at"`
	ClosedAt              *string        `json:"closed_at"`
	ClosedBy              *userJSON      `json:"closed_by"`
	AuthorAssociation     string         `json:"author_association"`
	ActiveLockReason      *string        `json:"active_lock_reason"`
	Body                  *string        `json:"body"`
	Reactions             reactionsJSON  `json:"reactions"`
	TimelineURL           string         `json:"timeline_url"`
	PerformedViaGitHubApp *struct{}      `json:"performed_via_github_app"`
	StateReason           *string        `json:"state_reason"`
	PullRequest           *pullLinksJSON `json:"pull_request,omitempty"`
	Score                 *float64       `json:"score,omitempty"`
}

func (u urls) issue(is *issue) *issueJSON {
	r := is.repo
	api := u.api + "repos/" + r.fullName() + "/issues/" + fmt.Sprint(is.number)
	kind := "issues"
	if is.pr {
		kind = "pull"
	}
	out := &issueJSON{
		URL: api, RepositoryURL: u.api + "repos/" + r.fullName(), LabelsURL: api + "/labels{/name}",
		CommentsURL: api + "/comments", EventsURL: api + "/events",
		HTMLURL: u.html + r.fullName() + "/" + kind + "/" + fmt.Sprint(is.number),
		ID:      is.id, NodeID: nodeID("Issue", is.id), Number: is.number, Title: is.title,
		User: u.user(is.user), Labels: []labelJSON{}, State: is.state, Locked: is.locked,
		Assignees: []*userJSON{}, Milestone: u.milestone(r, is.milestone),
		CreatedAt: ghTime(is.created), UpdatedAt: ghTime(is.updated), ClosedAt: ghTimePtr(is.closedAt),
		AuthorAssociation: "OWNER", Body: copyStr(is.body),
		Reactions:   reactionsJSON{URL: api + "/reactions"},
		TimelineURL: api + "/timeline",
	}
	for _, l := range is.labels {
		out.Labels = append(out.Labels, u.label(r, l))
	}
	for _, a := range is.assignees {
		out.Assignees = append(out.Assignees, u.user(a))
	}
	if len(out.Assignees) > 0 {
		out.Assignee = out.Assignees[0]
	}
	if is.closedBy != "" && is.state == "closed" {
		out.ClosedBy = u.user(is.closedBy)
	}
	if is.lockReason != "" {
		out.ActiveLockReason = strPtr(is.lockReason)
	}
	if is.reason != "" {
		out.StateReason = strPtr(is.reason)
	}
	for _, c := range is.comments {
		if !c.deleted {
			out.Comments++
		}
	}
	if is.pr {
		pr := u.api + "repos/" + r.fullName() + "/pulls/" + fmt.Sprint(is.number)
		html := u.html + r.fullName() + "/pull/" + fmt.Sprint(is.number)
		out.PullRequest = &pullLinksJSON{URL: pr, HTMLURL: html, DiffURL: html + ".diff", PatchURL: html + ".patch"}
	}
	return out
}

type commentJSON struct {
	URL                   string        `json:"url"`
	HTMLURL               string        `json:"html_url"`
	IssueURL              string        `json:"issue_url"`
	ID                    int64         `json:"id"`
	NodeID                string        `json:"node_id"`
	User                  *userJSON     `json:"user"`
	CreatedAt             string        `json:"created_at"`
	UpdatedAt             string        `json:"updated_at"`
	AuthorAssociation     string        `json:"author_association"`
	Body                  string        `json:"body"`
	Reactions             reactionsJSON `json:"reactions"`
	PerformedViaGitHubApp *struct{}     `json:"performed_via_github_app"`
}

func (u urls) comment(c *comment) commentJSON {
	is := c.issue
	r := is.repo
	api := u.api + "repos/" + r.fullName() + "/issues/comments/" + fmt.Sprint(c.id)
	kind := "issues"
	if is.pr {
		kind = "pull"
	}
	return commentJSON{
		URL: api, HTMLURL: fmt.Sprintf("%s%s/%s/%d#issuecomment-%d", u.html, r.fullName(), kind, is.number, c.id),
		IssueURL: u.api + "repos/" + r.fullName() + "/issues/" + fmt.Sprint(is.number),
		ID:       c.id, NodeID: nodeID("IssueComment", c.id), User: u.user(c.user),
		CreatedAt: ghTime(c.created), UpdatedAt: ghTime(c.updated), AuthorAssociation: "OWNER",
		Body: c.body, Reactions: reactionsJSON{URL: api + "/reactions"},
	}
}

type repoJSON struct {
	ID       int64     `json:"id"`
	NodeID   string    `json:"node_id"`
	Name     string    `json:"name"`
	FullName string    `json:"full_name"`
	Private  bool      `json:"private"`
	Owner    *userJSON `json:"owner"`
	HTMLURL  string    `json:"html_url"`
	URL      string    `json:"url"`
}

func (u urls) repo(r *repo) repoJSON {
	return repoJSON{ID: r.id, NodeID: nodeID("Repository", r.id), Name: r.name, FullName: r.fullName(),
		Private: true, Owner: u.user(r.owner), HTMLURL: u.html + r.fullName(), URL: u.api + "repos/" + r.fullName()}
}
