package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/pmsync/pmsync/connectors/jira/jirafake"
	"github.com/pmsync/pmsync/sync/engine/scenario"
)

// The incident, its items' titles and the customer summaries are the
// ones of the engine's end-to-end scenario, so the demo shows what the
// tests prove.
const (
	Incident       = scenario.Incident
	TitleTests     = scenario.TitleTests
	TitlePaging    = scenario.TitlePaging
	TitleDocs      = scenario.TitleDocs
	TitleDashboard = scenario.TitleDashboard
	TitleDrill     = scenario.TitleDrill
)

// Internal text of the platform's items that must never reach a customer.
const docsInternal = "Internal notes: the hot tier runs on storage-frontend-7 in rack B12; runbook at https://wiki.example.internal/storage/cache-tiers."

// seeded is where the people of the story wrote their items.
type seeded struct {
	tests, paging, docs string // platform keys (PLAT-n)
	dashboard           string // JaneCorp's GitHub key
	drill               string // Acme's GitLab key
	pagingDue           string // PLAT-2's due date, in the past
}

// seed writes the incident's items as the people of each organisation
// would: the platform's SRE in Jira, JaneCorp's engineer in GitHub, Acme's
// in GitLab.
func seed(ctx context.Context, s *Simulators, now time.Time) (*seeded, error) {
	sd := &seeded{pagingDue: now.AddDate(0, 0, -3).Format("2006-01-02")}
	platform := func(title, priority, desc, due string, labels ...string) (string, error) {
		in := jirafake.IssueInput{Summary: &title, Priority: &priority}
		labels = append([]string{"postmortem-action", "incident-" + Incident}, labels...)
		in.Labels = &labels
		if desc != "" {
			in.Description = &desc
		}
		if due != "" {
			in.Due = &due
		}
		key, err := s.Jira.CreateIssue("priya", in)
		if err != nil {
			return "", fmt.Errorf("demo: create %q in Jira: %w", title, err)
		}
		return key, nil
	}
	var err error
	if sd.tests, err = platform(TitleTests, "High",
		"Cover reads that miss every cache tier.\n\nh2. Customer summary\n"+scenario.SummaryTests,
		"", "type-prevent", "customer:janecorp", "customer:acme-analytics"); err != nil {
		return nil, err
	}
	if sd.paging, err = platform(TitlePaging, "High",
		"h2. Customer summary\n"+scenario.SummaryPaging,
		sd.pagingDue, "type-detect", "customer:janecorp"); err != nil {
		return nil, err
	}
	if sd.docs, err = platform(TitleDocs, "Low", docsInternal+"\n\nh2. Customer summary\n"+scenario.SummaryDocs,
		"", "type-process", "customer:janecorp", "customer:acme-analytics"); err != nil {
		return nil, err
	}
	if sd.dashboard, err = openGitHubIssue(ctx, s.Endpoint("janecorp").URL(), JaneCorpRepo, TitleDashboard,
		"One dashboard with the platform's storage latency next to our request latency.",
		[]string{"share-with-platform", "P1", "type:detect", "incident:" + Incident}); err != nil {
		return nil, err
	}
	if sd.drill, err = openGitLabIssue(ctx, s.Endpoint("acme-analytics").URL(), AcmeProject, TitleDrill,
		scenario.DescDrill,
		[]string{"share-with-platform", "priority::2", "type::process", "incident::" + Incident}); err != nil {
		return nil, err
	}
	return sd, nil
}
