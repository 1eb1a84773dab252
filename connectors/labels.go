package connectors

import (
	"sort"
	"strings"
)

// LabelScheme names the labels that carry canonical fields on trackers
// without native fields for them (GitHub and GitLab for priority, kind,
// status and incident; Jira for kind, incident and owner). Users override
// any name in config; DefaultGitHubLabels and DefaultGitLabLabels give the
// defaults.
type LabelScheme struct {
	// Priority maps each canonical priority to its label ("P1", "priority::1").
	Priority map[Priority]string `yaml:"priority"`
	// KindPrefix + kind is the kind label ("type:prevent", "type::prevent").
	KindPrefix string `yaml:"kind_prefix"`
	// InProgress is the label meaning "being worked on" on open items.
	InProgress string `yaml:"in_progress"`
	// IncidentPrefix + incident id is the incident label ("incident:INC-42").
	IncidentPrefix string `yaml:"incident_prefix"`
	// OwnerPrefix + "platform" or "customer" overrides the owner ("owner:customer").
	OwnerPrefix string `yaml:"owner_prefix"`
}

// DefaultGitHubLabels is the label scheme for GitHub (and memory).
func DefaultGitHubLabels() LabelScheme {
	return LabelScheme{
		Priority:       map[Priority]string{P0: "P0", P1: "P1", P2: "P2", P3: "P3", P4: "P4"},
		KindPrefix:     "type:",
		InProgress:     "status:in-progress",
		IncidentPrefix: "incident:",
		OwnerPrefix:    "owner:",
	}
}

// DefaultGitLabLabels is the scoped-label scheme for GitLab.
func DefaultGitLabLabels() LabelScheme {
	return LabelScheme{
		Priority:       map[Priority]string{P0: "priority::0", P1: "priority::1", P2: "priority::2", P3: "priority::3", P4: "priority::4"},
		KindPrefix:     "type::",
		InProgress:     "status::in-progress",
		IncidentPrefix: "incident::",
		OwnerPrefix:    "owner::",
	}
}

// DefaultJiraLabels is the label scheme for Jira: prefixes without spaces
// or colons, and no priority or in-progress labels (Jira's native priority
// field and workflow carry those).
func DefaultJiraLabels() LabelScheme {
	return LabelScheme{KindPrefix: "type-", IncidentPrefix: "incident-", OwnerPrefix: "owner-"}
}

// Merge returns s with every empty field taken from def.
func (s LabelScheme) Merge(def LabelScheme) LabelScheme {
	out := def
	if len(s.Priority) > 0 {
		out.Priority = map[Priority]string{}
		for k, v := range def.Priority {
			out.Priority[k] = v
		}
		for k, v := range s.Priority {
			out.Priority[k] = v
		}
	}
	if s.KindPrefix != "" {
		out.KindPrefix = s.KindPrefix
	}
	if s.InProgress != "" {
		out.InProgress = s.InProgress
	}
	if s.IncidentPrefix != "" {
		out.IncidentPrefix = s.IncidentPrefix
	}
	if s.OwnerPrefix != "" {
		out.OwnerPrefix = s.OwnerPrefix
	}
	return out
}

// LabelFields is what a set of labels says about the canonical fields.
type LabelFields struct {
	Priority   Priority
	Kind       Kind
	InProgress bool
	Incident   string
	Owner      Owner
	Rest       []string // labels that map to no canonical field, in input order
}

// Decode reads canonical fields out of labels. Unknown values (a kind label
// naming no canonical kind) stay in Rest. When several labels give the same
// field, the most urgent priority and the first of the others win.
func (s LabelScheme) Decode(labels []string) LabelFields {
	var f LabelFields
	for _, l := range labels {
		if s.decodeOne(l, &f) {
			continue
		}
		f.Rest = append(f.Rest, l)
	}
	return f
}

func (s LabelScheme) decodeOne(l string, f *LabelFields) bool {
	for p, name := range s.Priority {
		if name != "" && strings.EqualFold(l, name) {
			if f.Priority == "" || p < f.Priority {
				f.Priority = p
			}
			return true
		}
	}
	if s.InProgress != "" && strings.EqualFold(l, s.InProgress) {
		f.InProgress = true
		return true
	}
	if v, ok := cutPrefixFold(l, s.KindPrefix); ok && Kind(strings.ToLower(v)).Valid() && v != "" {
		if f.Kind == "" {
			f.Kind = Kind(strings.ToLower(v))
		}
		return true
	}
	if v, ok := cutPrefixFold(l, s.IncidentPrefix); ok && v != "" {
		if f.Incident == "" {
			f.Incident = v
		}
		return true
	}
	if v, ok := cutPrefixFold(l, s.OwnerPrefix); ok {
		switch o := Owner(strings.ToLower(v)); o {
		case OwnerPlatform, OwnerCustomer:
			if f.Owner == "" {
				f.Owner = o
			}
			return true
		}
	}
	return false
}

// Encode returns the labels that carry the given canonical fields, sorted,
// followed by nothing else. inProgress is only meaningful for open items.
func (s LabelScheme) Encode(p Priority, k Kind, inProgress bool, incident string, owner Owner) []string {
	var out []string
	if name := s.Priority[p]; p != "" && name != "" {
		out = append(out, name)
	}
	if k != "" && s.KindPrefix != "" {
		out = append(out, s.KindPrefix+string(k))
	}
	if inProgress && s.InProgress != "" {
		out = append(out, s.InProgress)
	}
	if incident != "" && s.IncidentPrefix != "" {
		out = append(out, s.IncidentPrefix+incident)
	}
	if owner != "" && s.OwnerPrefix != "" {
		out = append(out, s.OwnerPrefix+string(owner))
	}
	sort.Strings(out)
	return out
}

// Managed reports whether label l is one that the scheme maps to a
// canonical field (so an update may replace it).
func (s LabelScheme) Managed(l string) bool {
	var f LabelFields
	return s.decodeOne(l, &f)
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if prefix == "" || len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return "", false
	}
	return s[len(prefix):], true
}
