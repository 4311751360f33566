package inode

import (
	"testing"

	"github.com/nowaitio/nowait/aio/internal/queue"
)

// waiter records its resumption.
type waiter struct {
	node    queue.Node
	name    string
	resumed *[]string
}

func (w *waiter) QueueNode() *queue.Node { return &w.node }
func (w *waiter) Resume()                { *w.resumed = append(*w.resumed, w.name) }

func newWaiter(name string, log *[]string) *waiter {
	w := &waiter{name: name, resumed: log}
	w.node.Owner = w
	return w
}

// TestBarriersReleaseMoreThanABatch: a release goes in batches (on the
// stack); with more barriers parked and writes held than one batch holds,
// every barrier goes once the earlier write is done, then every held
// write, in that order, none lost.
func TestBarriersReleaseMoreThanABatch(t *testing.T) {
	var b Barriers
	b.init()
	var log []string
	if !b.AdmitWrite(newWaiter("w0", &log)) {
		t.Fatal("a write with no barrier parked was held")
	}
	const barriers, held = 40, 70
	for i := range barriers {
		if !b.Park(newWaiter("b", &log)) {
			t.Fatalf("barrier %d did not park behind the write in flight", i)
		}
	}
	for i := range held {
		if b.AdmitWrite(newWaiter("h", &log)) {
			t.Fatalf("write %d went while barriers were parked", i)
		}
	}
	if len(log) != 0 {
		t.Fatalf("resumed %v before the write in flight was done", log)
	}
	b.WriteDone()
	if len(log) != barriers+held {
		t.Fatalf("resumed %d of %d", len(log), barriers+held)
	}
	for i, name := range log {
		if want := map[bool]string{true: "b", false: "h"}[i < barriers]; name != want {
			t.Fatalf("resumption %d is %q, want %q (barriers first, then the held writes): %v", i, name, want, log)
		}
	}
	if got := b.writes.Load(); got != held {
		t.Fatalf("%d writes counted in flight after the release, want the %d held ones", got, held)
	}
}
