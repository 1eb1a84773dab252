package reliability

import (
	"slices"
	"strings"

	"github.com/pmsync/pmsync/connectors"
	"github.com/pmsync/pmsync/connectors/memory"
)

// inProgressLabel is the memory tracker's in-progress label (GitHub scheme).
const inProgressLabel = "status:in-progress"

// MemStatus is the canonical status of a memory issue, as the memory
// connector maps it.
func MemStatus(is memory.Issue) connectors.Status {
	if is.State == memory.StateClosed {
		if is.Reason == memory.ReasonNotPlanned {
			return connectors.StatusWontDo
		}
		return connectors.StatusDone
	}
	if slices.ContainsFunc(is.Labels, func(l string) bool { return strings.EqualFold(l, inProgressLabel) }) {
		return connectors.StatusInProgress
	}
	return connectors.StatusOpen
}

// SetMemStatus changes an issue's status as a person would.
func SetMemStatus(tr *memory.Tracker, key string, s connectors.Status) error {
	return tr.Modify(key, func(is *memory.Issue) {
		is.Labels = slices.DeleteFunc(is.Labels, func(l string) bool { return strings.EqualFold(l, inProgressLabel) })
		switch s {
		case connectors.StatusOpen:
			is.State, is.Reason = memory.StateOpen, ""
		case connectors.StatusInProgress:
			is.State, is.Reason = memory.StateOpen, ""
			is.Labels = append(is.Labels, inProgressLabel)
		case connectors.StatusDone:
			is.State, is.Reason = memory.StateClosed, memory.ReasonCompleted
		case connectors.StatusWontDo:
			is.State, is.Reason = memory.StateClosed, memory.ReasonNotPlanned
		}
	})
}

// HasLabel reports whether the issue carries label (case-insensitive).
func HasLabel(is memory.Issue, label string) bool {
	return slices.ContainsFunc(is.Labels, func(l string) bool { return strings.EqualFold(l, label) })
}

// IsMirror reports whether the issue was written by pmsync (carries a
// marker).
func IsMirror(is memory.Issue) bool {
	m, _ := connectors.ExtractMarker(is.Body)
	return m != ""
}
