package aio

import (
	"github.com/nowaitio/nowait/bio"
	"github.com/nowaitio/nowait/iomap"
	"github.com/nowaitio/nowait/ring"
)

// ringExec is the ring executor: one ring and what placing requests on it
// needs (the slot table of kernel requests in flight, the Builder, the
// iomap iterator), and what completing them does. It does not know who
// drives it: today a shard's goroutine (shard.go) owns one; a
// caller-driven executor (a Context's own ring) would own one the same
// way, under the lock of whoever submits and reaps.
//
// Owner: one goroutine at a time, the ring's driver; nothing here is safe
// for concurrent use.
type ringExec struct {
	rt       *Runtime
	ring     *ring.Ring
	slots    []bioSlot // one per kernel request in flight; the index is the user_data
	free     []int32
	inflight int
	builder  bio.Builder
	plan     []planned
	cqes     []ring.CQE
	wakes    []*Context // contexts with new completions, woken once per pass
	broken   bool       // io_uring_enter failed for good: everything goes to the workers
	// fixedTable: the ring has the runtime's fixed-file table, where every
	// file has the same slot (the shards' rings).
	fixedTable bool
	it         iomap.Iter
}

// init gives the executor its ring and a slot table of slots kernel
// requests, reaping cqes completions at a time, and lets a test install
// its fault injectors (testExecHook) from the ring's driver.
func (s *ringExec) init(rt *Runtime, r *ring.Ring, slots, cqes int) {
	s.rt, s.ring = rt, r
	s.slots = make([]bioSlot, slots)
	s.free = make([]int32, slots)
	for i := range s.free {
		s.free[i] = int32(slots - 1 - i)
	}
	s.cqes = make([]ring.CQE, cqes)
	if testExecHook != nil {
		testExecHook(s)
	}
}

// place starts r on the ring, on a worker, or finishes it at once. It
// returns false when r must wait for free slots.
func (s *ringExec) place(r *request) bool {
	switch r.op {
	case OpRead:
		return s.placeRead(r)
	case OpWrite:
		return s.placeWrite(r)
	}
	return s.placeSync(r)
}
