package inode

import (
	"sync"
	"sync/atomic"

	"github.com/nowaitio/nowait/aio/internal/queue"
)

// Waiter is a request a barrier holds back; Resume sends it on again
// without waiting (it may run inside a Submit).
type Waiter interface {
	QueueNode() *queue.Node
	Resume()
}

// Barriers orders a file's barrier syncs after the writes submitted
// before them: a barrier parks until no earlier write is in flight, and
// the writes submitted while it waits are held behind it (else a stream
// of new writes would keep it waiting for ever). Nothing here waits:
// writes are counted with an atomic, parked barriers and held writes go
// onto lock-free queues, and the release is done by whoever sees it due
// and gets mu with TryLock; one who finds mu held leaves it to the
// holder, which looks again after it unlocks (kick's loop). mu is taken
// nowhere else.
//
// Owner: shared by Submits, completions and workers.
type Barriers struct {
	writes atomic.Int64 // writes submitted through any handle and not yet finished
	parked atomic.Int32 // barrier syncs queued in parkedQ
	held   atomic.Int32 // writes queued in heldQ
	// parkedQ and heldQ are popped by mu's holder.
	parkedQ, heldQ queue.MPSC
	mu             sync.Mutex
}

func (b *Barriers) init() {
	b.parkedQ.Init()
	b.heldQ.Init()
}

// AdmitWrite counts a new write, or holds it back while a barrier waits
// for the writes before it. It reports whether the write may go now.
func (b *Barriers) AdmitWrite(w Waiter) bool {
	if b.parked.Load() == 0 {
		// A barrier that parks meanwhile may count this write as before
		// it: it goes, as if it had come first.
		b.writes.Add(1)
		return true
	}
	b.heldQ.Push(w.QueueNode())
	b.held.Add(1)
	b.kick() // the barrier may have left meanwhile
	return false
}

// WriteDone counts a write finished (one AdmitWrite let go), and releases
// what waited for it.
func (b *Barriers) WriteDone() {
	if b.writes.Add(-1) == 0 {
		b.kick()
	}
}

// Park parks a barrier sync while earlier writes are in flight; it
// reports false when there are none and the sync may go now.
func (b *Barriers) Park(w Waiter) bool {
	if b.writes.Load() == 0 && b.parked.Load() == 0 {
		return false
	}
	b.parkedQ.Push(w.QueueNode())
	b.parked.Add(1)
	b.kick()
	return true
}

// due reports whether a release has work: parked barriers with no write
// in flight, or held writes with no barrier left.
func (b *Barriers) due() bool {
	if b.parked.Load() > 0 {
		return b.writes.Load() == 0
	}
	return b.held.Load() > 0
}

// kick releases what is due, unless another goroutine holds mu, which
// then does it after unlocking.
func (b *Barriers) kick() {
	for b.due() {
		if !b.mu.TryLock() {
			return
		}
		var batch [16]Waiter // on the stack: what is due goes in batches
		resume := batch[:0]
		if b.parked.Load() > 0 && b.writes.Load() == 0 {
			resume = b.popAllLocked(&b.parkedQ, &b.parked, resume)
		}
		if b.parked.Load() == 0 {
			// The held writes count as in flight before they go, so that
			// a barrier parked from now on waits for them.
			n := len(resume)
			resume = b.popAllLocked(&b.heldQ, &b.held, resume)
			b.writes.Add(int64(len(resume) - n))
		}
		b.mu.Unlock()
		if len(resume) == 0 {
			return // what is due cannot be reached yet: its pusher kicks after it links
		}
		for _, w := range resume {
			w.Resume()
		}
	}
}

// popAllLocked pops up to the n counted nodes off q into dst, as many as
// it has room for, and uncounts them. A push links, counts, then kicks: a
// node Pop cannot reach yet is left for the kick of the push under way.
// mu is held.
func (b *Barriers) popAllLocked(q *queue.MPSC, n *atomic.Int32, dst []Waiter) []Waiter {
	for want := n.Load(); want > 0 && len(dst) < cap(dst); want-- {
		node := q.Pop()
		if node == nil {
			break
		}
		dst = append(dst, node.Owner.(Waiter))
		n.Add(-1)
	}
	return dst
}
