package scenario

import (
	"context"
	"fmt"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/jira/jirafake"
)

// Incident is the id of the storage-frontend latency incident.
const Incident = "INC-2041"

// The action items' titles.
const (
	TitleTests     = "Add uncached-read latency tests"
	TitlePaging    = "Page on regional latency SLO"
	TitleDocs      = "Document cache tiers"
	TitleDashboard = "Dashboard for platform storage latency"
	TitleDrill     = "Quarterly regional failover drill"
)

// Canaries: text that must never leave where it was written.
const (
	// InternalCanary is in the platform's internal descriptions and
	// comments; no customer may ever receive it.
	InternalCanary = "INTERNAL-CANARY-4f7d"
	// JaneCanary is in JaneCorp's items and comments; Acme may never
	// receive it.
	JaneCanary = "JANECORP-CANARY-91b2"
)

// The shared summaries of the platform's items.
const (
	SummaryTests  = "We are adding latency tests for reads that miss the cache, so a regression like this one fails our release checks."
	SummaryPaging = "Our on-call is paged when regional read latency breaks its SLO, not only when errors rise."
	SummaryDocs   = "We will publish how the storage cache tiers work and what latency to expect from each."
	// DescDashboard is JaneCorp's description of its item (all of it
	// crosses to the platform).
	DescDashboard = "One dashboard with the platform's storage latency next to our request latency. Ref " + JaneCanary + "."
	DescDrill     = "Every quarter, fail over reads to the second region and measure the latency."
)

// Seeded holds the keys of the scenario's items.
type Seeded struct {
	Tests, Paging, Docs string // the platform's Jira keys
	Dashboard           string // JaneCorp's GitHub key
	Drill               string // Acme's GitLab key
}

// internalDesc is a platform description in Jira wiki markup: internal
// notes, then the customer summary.
func internalDesc(summary string) string {
	return "Root cause notes: " + InternalCanary + " saturation of the hot tier on storage-frontend-7, " +
		"runbook https://wiki.example.internal/storage/cache.\n\nh2. Customer summary\n" + summary +
		"\n\nh2. Timeline\n" + InternalCanary + " 09:12 first page."
}

// Seed writes the incident's items as people would: the platform's SRE in
// Jira, JaneCorp's engineer in GitHub, Acme's in GitLab.
func Seed(ctx context.Context, s *Sims) (*Seeded, error) {
	sd := &Seeded{}
	platform := func(title, priority, summary string, labels ...string) (string, error) {
		desc := internalDesc(summary)
		labels = append([]string{ActionLabel, "incident:" + Incident}, labels...)
		key, err := s.Jira.CreateIssue("priya", jirafake.IssueInput{Summary: &title, Priority: &priority, Description: &desc, Labels: &labels})
		if err != nil {
			return "", fmt.Errorf("scenario: create %q in Jira: %w", title, err)
		}
		return key, nil
	}
	var err error
	if sd.Tests, err = platform(TitleTests, "High", SummaryTests, "type:prevent", "customer:"+Jane, "customer:"+Acme); err != nil {
		return nil, err
	}
	if sd.Paging, err = platform(TitlePaging, "High", SummaryPaging, "type:detect", "customer:"+Jane); err != nil {
		return nil, err
	}
	if sd.Docs, err = platform(TitleDocs, "Low", SummaryDocs, "type:process", "customer:"+Jane, "customer:"+Acme); err != nil {
		return nil, err
	}
	if sd.Dashboard, err = s.open(ctx, Jane, &connectors.Item{Title: TitleDashboard, Description: DescDashboard,
		Status: connectors.StatusOpen, Priority: connectors.P1, Kind: connectors.KindDetect, Incident: Incident,
		Labels: []string{InboundLabel}}); err != nil {
		return nil, err
	}
	if sd.Drill, err = s.open(ctx, Acme, &connectors.Item{Title: TitleDrill, Description: DescDrill,
		Status: connectors.StatusOpen, Priority: connectors.P2, Kind: connectors.KindProcess, Incident: Incident,
		Labels: []string{InboundLabel}}); err != nil {
		return nil, err
	}
	return sd, nil
}

// open creates an item in a customer's tracker as its engineer would
// (without a marker).
func (s *Sims) open(ctx context.Context, id string, it *connectors.Item) (string, error) {
	c, err := s.Connector(id)
	if err != nil {
		return "", err
	}
	defer c.Close()
	out, err := c.Create(ctx, "", it)
	if err != nil {
		return "", fmt.Errorf("scenario: create %q in %s: %w", it.Title, id, err)
	}
	return out.Ref.Key, nil
}

// Get reads an item of tracker id through its connector.
func (s *Sims) Get(ctx context.Context, id, key string) (*connectors.Item, error) {
	c, err := s.Connector(id)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.Get(ctx, key)
}

// Comments reads the comments of an item of tracker id.
func (s *Sims) Comments(ctx context.Context, id, key string) ([]connectors.Comment, error) {
	c, err := s.Connector(id)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.ListComments(ctx, key)
}
