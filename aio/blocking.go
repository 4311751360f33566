package aio

import (
	"runtime"
	"sync"
	"time"

	"github.com/nowaitio/nowait/aio/internal/engine"
)

// File's blocking methods: each call takes a one-slot Context (syncCtx)
// and one of the runtime's shared rings, the one its P used last, submits
// its request there and waits: it leads the ring (submits and waits in
// one io_uring_enter, then hands every completion reaped to its caller)
// or, while another call leads, parks until its completion or the lead
// comes to it (engine, "Blocking callers"). A call never goes without a
// ring, whatever came before it.

// syncCtx is a one-slot context with its IOCB and event, for the blocking
// methods, bound to one shared ring for its life. Kept in its ring's free
// list: a blocking call allocates nothing.
//
// Owner: the goroutine that took it from the free list, until it puts it
// back.
type syncCtx struct {
	ctx *Context
	cb  IOCB
	ev  [1]Event
}

// sharedRing is one of the rings the blocking methods share (x nil: the
// syscall backend's stand-in), with the free list of its syncCtxs.
// Owner: shared; mu guards free (blocking callers alone take it).
type sharedRing struct {
	x    *engine.Ring
	mu   sync.Mutex
	free []*syncCtx
}

// get takes a syncCtx of the ring from its free list, or makes one: nil
// when the runtime is closed.
func (s *sharedRing) get(rt *Runtime) *syncCtx {
	s.mu.Lock()
	if n := len(s.free); n > 0 {
		sc := s.free[n-1]
		s.free = s.free[:n-1]
		s.mu.Unlock()
		return sc
	}
	s.mu.Unlock()
	c, err := rt.newContext(1)
	if err != nil {
		return nil
	}
	c.x = s.x
	return &syncCtx{ctx: c}
}

func (s *sharedRing) put(sc *syncCtx) {
	s.mu.Lock()
	s.free = append(s.free, sc)
	s.mu.Unlock()
}

// pickRing is the shared ring for a call on this P; putRing gives the
// hint back.
func (rt *Runtime) pickRing() *sharedRing { return rt.ringHint.Get().(*sharedRing) }

func (rt *Runtime) putRing(s *sharedRing) { rt.ringHint.Put(s) }

func (f *File) doIOCB(cb IOCB) (int, error) {
	rt := f.rt
	s := rt.pickRing()
	defer rt.putRing(s)
	sc := s.get(rt)
	if sc == nil {
		return 0, ErrRuntimeClosed
	}
	defer s.put(sc)
	sc.cb = cb
	if _, err := sc.ctx.Submit(&sc.cb); err != nil {
		sc.cb = IOCB{}
		return 0, err
	}
	rt.workers.Flush()
	sc.wait()
	sc.ctx.take(sc.ev[:])
	ev := sc.ev[0]
	sc.cb, sc.ev[0] = IOCB{}, Event{}
	return ev.N, ev.Err
}

// wait returns once the call's request is delivered, driving the shared
// ring meanwhile when no one else does.
func (sc *syncCtx) wait() {
	c := sc.ctx
	x := c.x
	park := func() {
		c.parked.Add(1)
		if !c.ready() && (x == nil || !x.Busy() || x.Leading()) {
			<-c.notify
		}
		c.parked.Add(-1)
	}
	for !c.ready() {
		switch {
		case x == nil || !x.Busy():
			// Nothing for a driver on the ring: the request is on a
			// worker, whose delivery wakes the call.
			park()
		case x.Broken():
			x.Drive(false, 0, nil)
			time.Sleep(engine.PollBroken)
		case x.TryLead():
			c.yield.tick()
			if x.Followers() > 0 {
				// Callers parked here were handed their completions, and
				// run again on this P: let them queue their next requests
				// before this thread takes them all to the kernel and
				// waits there (keeping its P until the runtime's monitor
				// notices). 32 goroutines calling ReadAt: 7-9 µs a read,
				// against 23-25 without (pread: 17-21).
				runtime.Gosched()
			}
			c.inRing.Store(true)
			x.Drive(true, 0, c.ready)
			c.inRing.Store(false)
			x.Unlead()
		default:
			x.Follow(c, c.ready, park)
		}
	}
	if x != nil {
		x.HandOff()
	}
}
