package queue

import "sync/atomic"

// Node is the link an item embeds to sit in an MPSC queue; Owner is the
// item, set once. An item is in at most one queue at a time.
type Node struct {
	next  atomic.Pointer[Node]
	Owner any
}

// MPSC is an intrusive multi-producer, single-consumer queue (Vyukov's):
// Push is one atomic swap. Init before use. Owner: anyone Pushes; one at a
// time Pops (its user says who).
type MPSC struct {
	head atomic.Pointer[Node] // last pushed; producers swap it
	tail *Node                // next to pop; consumer-only
	stub Node
}

// Init makes the queue empty.
func (q *MPSC) Init() {
	q.head.Store(&q.stub)
	q.tail = &q.stub
}

// Push queues n.
func (q *MPSC) Push(n *Node) {
	n.next.Store(nil)
	prev := q.head.Swap(n)
	pushPause() // a consumer may look here: see Pop and Empty
	prev.next.Store(n)
}

// Pop returns the oldest node, or nil when there is none or a producer is
// half-way through a push (call again: it completes in nanoseconds).
func (q *MPSC) Pop() *Node {
	tail, next := q.tail, q.tail.next.Load()
	if tail == &q.stub {
		if next == nil {
			return nil
		}
		q.tail, tail, next = next, next, next.next.Load()
	}
	if next != nil {
		q.tail = next
		return tail
	}
	if tail != q.head.Load() {
		return nil // a push is between its swap and its link
	}
	q.Push(&q.stub)
	if next = tail.next.Load(); next != nil {
		q.tail = next
		return tail
	}
	return nil
}

// Empty reports whether nothing is queued or being pushed (consumer only).
func (q *MPSC) Empty() bool {
	return q.tail.next.Load() == nil && q.head.Load() == q.tail
}
