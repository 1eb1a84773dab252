// Package simkit holds the parts the tracker simulators (jirafake,
// gitlabfake, githubfake) share because the logic is the same in all of
// them: the queue of injected faults with conformance.Fault semantics, the
// advanceable simulated clock, the answer latency and the request and
// write counters.
package simkit

import (
	"sync"

	"github.com/pmsync/pmsync/connectors/conformance"
)

// Faults is a queue of injected faults. The zero value is empty and ready;
// it is safe for concurrent use.
type Faults struct {
	mu sync.Mutex
	q  []conformance.Fault
}

// Inject queues f for the next matching requests; Times <= 0 means once.
func (fs *Faults) Inject(f conformance.Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.q = append(fs.q, f)
}

// Take spends one use of the first queued fault that applies to a request
// of class op and returns it; a fault leaves the queue with its last use.
// A fault applies when its Op is op or OpAny (a request of no class, op "",
// only meets OpAny faults) and, when keep is not nil, keep reports true
// for it. The fault is returned as injected (Times at least 1).
func (fs *Faults) Take(op conformance.Op, keep func(conformance.Fault) bool) (conformance.Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, f := range fs.q {
		if f.Op != conformance.OpAny && (f.Op != op || op == "") {
			continue
		}
		if keep != nil && !keep(f) {
			continue
		}
		fs.q[i].Times--
		if fs.q[i].Times <= 0 {
			fs.q = append(fs.q[:i], fs.q[i+1:]...)
		}
		return f, true
	}
	return conformance.Fault{}, false
}
