package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/pmsync/pmsync/connectors/jira/jirafake"
)

// The storage-latency incident: the postmortem of a regression in the
// storage frontend's uncached reads, with action items on both sides.
const Incident = "INC-2041"

// The action items' titles.
const (
	TitleTests     = "Add uncached-read latency tests"
	TitlePaging    = "Page on regional latency SLO"
	TitleDocs      = "Document cache tiers"
	TitleDashboard = "Dashboard for platform storage latency"
	TitleDrill     = "Quarterly regional failover drill"
)

// Internal text of the platform's items that must never reach a customer,
// and the summary that may.
const (
	docsInternal = "Internal notes: the hot tier runs on storage-frontend-7 in rack B12; runbook at https://wiki.example.internal/storage/cache-tiers."
	docsSummary  = "We will publish how the storage cache tiers work and what latency to expect from each, so you can plan dashboards and alerts."
)

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
		labels = append([]string{"postmortem-action", "incident:" + Incident}, labels...)
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
		"Cover reads that miss every cache tier.\n\nh2. Customer summary\nWe are adding latency tests for reads that miss the cache, so a regression like this one fails our release checks.",
		"", "type:prevent", "customer:janecorp", "customer:acme-analytics"); err != nil {
		return nil, err
	}
	if sd.paging, err = platform(TitlePaging, "High",
		"h2. Customer summary\nOur on-call is paged when regional read latency breaks its SLO, not only when errors rise.",
		sd.pagingDue, "type:detect", "customer:janecorp"); err != nil {
		return nil, err
	}
	if sd.docs, err = platform(TitleDocs, "Low", docsInternal+"\n\nh2. Customer summary\n"+docsSummary,
		"", "type:process", "customer:janecorp", "customer:acme-analytics"); err != nil {
		return nil, err
	}
	if sd.dashboard, err = openGitHubIssue(ctx, s.Endpoint("janecorp").URL(), JaneCorpRepo, TitleDashboard,
		"We want one dashboard with the platform's storage latency next to our own request latency.",
		[]string{"share-with-platform", "P1", "type:detect", "incident:" + Incident}); err != nil {
		return nil, err
	}
	if sd.drill, err = openGitLabIssue(ctx, s.Endpoint("acme-analytics").URL(), AcmeProject, TitleDrill,
		"Practise failing over to the second region every quarter, with the platform's storage in the loop.",
		[]string{"share-with-platform", "priority::2", "type::process", "incident::" + Incident}); err != nil {
		return nil, err
	}
	return sd, nil
}
