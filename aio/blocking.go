package aio

import (
	"runtime"
	"sync"

	"github.com/nowaitio/nowait/aio/internal/engine"
)

// File's blocking methods: each call takes the shared ring its P used
// last and a one-slot Context of that ring, submits, and waits, leading
// the ring or following its leader (package engine).

// syncCtx is a one-slot context with its IOCB and event, bound to one
// shared ring, kept in the ring's free list (a call allocates nothing).
// Owner: the goroutine that took it, until it puts it back.
type syncCtx struct {
	ctx *Context
	cb  IOCB
	ev  [1]Event
}

// sharedRing is a ring the blocking methods share (x nil: the syscall
// backend's stand-in) and its syncCtxs. Owner: shared; mu guards free.
type sharedRing struct {
	x    *engine.Ring
	mu   sync.Mutex
	free []*syncCtx
}

// get takes a syncCtx of the ring, or makes one (nil: runtime closed).
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

func (f *File) doIOCB(cb IOCB) (int, error) {
	rt := f.rt
	s := rt.ringHint.Get().(*sharedRing) // the ring this P used last
	defer rt.ringHint.Put(s)
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
	ev := sc.wait()
	sc.cb = IOCB{}
	return ev.N, ev.Err
}

// wait returns the call's event once it is delivered, driving the shared
// ring meanwhile when no one else does. The Context looks ready a moment
// before its event can be taken, while the delivery is half-way through
// its push (queue.MPSC): wait keeps on until it has taken it, or a
// 0-byte event with no error would go back to the caller and the slot
// would stay taken for the Context's next user.
func (sc *syncCtx) wait() Event {
	c := sc.ctx
	for {
		for !c.ready() {
			c.waitOnce(c.ready, 0)
		}
		if n, _ := c.take(sc.ev[:]); n == 1 {
			break
		}
		runtime.Gosched() // the pusher completes its push in nanoseconds once it runs
	}
	if c.x != nil {
		c.x.HandOff()
	}
	ev := sc.ev[0]
	sc.ev[0] = Event{}
	return ev
}
