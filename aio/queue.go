package aio

import "sync/atomic"

// mpsc is an intrusive multi-producer, single-consumer queue of requests
// (Vyukov's): push is one atomic swap and never waits, which is what lets
// Submit hand a request to a shard without blocking. The requests carry
// the links, so nothing is allocated.
//
// Owner: any goroutine may push; only the shard's submitter pops.
type mpsc struct {
	head atomic.Pointer[request] // last pushed; producers swap it
	tail *request                // next to pop; consumer-only
	stub request
}

func (q *mpsc) init() {
	q.head.Store(&q.stub)
	q.tail = &q.stub
}

func (q *mpsc) push(r *request) {
	r.next.Store(nil)
	prev := q.head.Swap(r)
	prev.next.Store(r)
}

// pop returns the oldest request, or nil when there is none or a producer
// is half-way through a push (call again: it completes in nanoseconds).
func (q *mpsc) pop() *request {
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
	q.push(&q.stub)
	if next = tail.next.Load(); next != nil {
		q.tail = next
		return tail
	}
	return nil
}

// empty reports whether nothing is queued or being pushed (consumer only).
func (q *mpsc) empty() bool {
	return q.tail.next.Load() == nil && q.head.Load() == q.tail
}
