package aio

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nowaitio/nowait/aio/internal/engine"
	"github.com/nowaitio/nowait/aio/internal/queue"
	"github.com/nowaitio/nowait/aio/internal/req"
)

// Context is the io_setup/io_submit/io_getevents of this runtime: a set of
// depth request slots, a ring of its own, a Submit that never waits and
// GetEvents to collect completions. Several goroutines may use one
// Context.
//
// GetEvents submits what Submit queued in the io_uring_enter it waits
// in; for a user who submits and then does something else, the runtime's
// helper submits it within a millisecond (GetEvents with a zero timeout
// does it at once).
//
// Owner: shared. The runtime's goroutines (drivers, workers) only push
// completions onto done, a lock-free queue; getMu is taken by GetEvents
// and Close alone.
type Context struct {
	rt    *Runtime
	x     *engine.Ring // the ring its fast requests go to (nil: the syscall backend)
	own   bool         // x is this Context's own, closed with it (else a blocking call's shared ring)
	depth int
	slots []req.Request
	iocbs []*IOCB // the IOCB of each slot's request
	free  *queue.Slots

	done    queue.MPSC    // completed requests; popped under getMu
	life    req.Lifetime  // users: requests submitted and not yet delivered; Close waits for them
	notify  chan struct{} // a completion arrived, or work for a driver (capacity 1: a wake-up, not a count)
	closing chan struct{} // closed by Close: wakes every waiter

	inRing atomic.Bool  // a goroutine of this Context waits in x's io_uring_enter: a delivery kicks it
	parked atomic.Int32 // goroutines of this Context parked on notify: a delivery sends on it only then

	getMu sync.Mutex // one GetEvents (or Close) consumes done at a time
	timer *time.Timer
	yield yieldPacer // GetEvents's calls, or a blocking call's waits; guarded by getMu (or the blocking call)
}

// NewContext makes a context with room for depth requests in flight, and
// on io_uring a ring of its own.
func (rt *Runtime) NewContext(depth int) (*Context, error) {
	c, err := rt.newContext(depth)
	if err != nil || rt.backend != BackendIOUring {
		return c, err
	}
	x, err := engine.NewRing(&rt.env, 2*depth)
	if err != nil {
		return nil, fmt.Errorf("aio: NewContext: a ring for the context: %w", err)
	}
	c.x, c.own = x, true
	if !rt.track(c) {
		c.Close()
		return nil, ErrRuntimeClosed
	}
	return c, nil
}

func (rt *Runtime) newContext(depth int) (*Context, error) {
	if depth < 1 || depth > 65536 {
		return nil, ErrBadDepth
	}
	if rt.life.IsClosed() {
		return nil, ErrRuntimeClosed
	}
	c := &Context{rt: rt, depth: depth, slots: make([]req.Request, depth), iocbs: make([]*IOCB, depth),
		free: queue.NewSlots(depth), notify: make(chan struct{}, 1), closing: make(chan struct{})}
	c.done.Init()
	c.life.Init()
	for i := range c.slots {
		c.slots[i].Init(c, int32(i))
	}
	return c, nil
}

// Submit queues iocbs for I/O and returns how many it accepted, without
// waiting for anything: no lock that another I/O, a completion or a
// worker holds, no system call but a wake-up, no device. Each request is
// checked, routed and queued, for the ring's driver or for a worker. When
// the context is full it accepts what fits and returns ErrWouldBlock
// (errors.Is syscall.EAGAIN). Bad input is refused before anything is
// accepted: the error names the first bad IOCB's fault.
func (c *Context) Submit(iocbs ...*IOCB) (int, error) {
	for i, cb := range iocbs {
		if err := c.validate(cb); err != nil {
			releaseOps(iocbs[:i])
			return 0, err
		}
	}
	if !c.life.Acquire(int64(len(iocbs))) {
		releaseOps(iocbs)
		return 0, ErrContextClosed
	}
	if c.rt.life.IsClosed() {
		c.life.ReleaseN(int64(len(iocbs)))
		releaseOps(iocbs)
		return 0, ErrRuntimeClosed
	}
	n := 0
	for n < len(iocbs) {
		slot, ok := c.free.Take()
		if !ok {
			break
		}
		c.start(&c.slots[slot], iocbs[n])
		n++
	}
	if c.x != nil {
		c.queued()
	}
	c.life.ReleaseN(int64(len(iocbs) - n))
	if n < len(iocbs) {
		releaseOps(iocbs[n:])
		return n, ErrWouldBlock
	}
	return n, nil
}

// queued tells whoever must act on what Submit queued: a goroutine of
// this Context in the ring (kicked) or parked (woken), a shared ring's
// leader, and the helper.
func (c *Context) queued() {
	if c.inRing.Load() {
		c.x.Kick()
	} else if !c.own {
		c.x.KickIfFirst()
	}
	if c.parked.Load() > 0 {
		c.wakeChan()
	}
	engine.Note()
}

// releaseOps gives back the file references validate took for IOCBs that
// were not accepted.
func releaseOps(iocbs []*IOCB) {
	for _, cb := range iocbs {
		cb.File.opDone()
	}
}

// validate checks cb and, last, counts it on its File (given back by
// Settle, or by releaseOps if Submit does not accept it).
func (c *Context) validate(cb *IOCB) error {
	switch {
	case cb == nil:
		return ErrNilIOCB
	case cb.File == nil:
		return ErrNilFile
	case cb.File.rt != c.rt:
		return ErrOtherRuntime
	case !cb.Op.Valid():
		return ErrUnknownOp
	case cb.Offset < 0:
		return ErrNegativeOffset
	case len(cb.Buf) > MaxIOBytes:
		return ErrBufferTooLarge
	case cb.Offset > math.MaxInt64-int64(len(cb.Buf)):
		return ErrOffsetOverflow
	case cb.Op == OpAllocate && allocLength(cb) <= 0:
		return ErrBadLength
	case cb.Op == OpAllocate && cb.Offset > math.MaxInt64-allocLength(cb):
		return ErrOffsetOverflow
	}
	if err := cb.File.checkAccess(cb.Op, cb.appended); err != nil {
		return err
	}
	if !cb.File.opStart() {
		return ErrClosed
	}
	return nil
}

// Deliver queues a finished request for GetEvents (req.Sink). It takes no
// lock.
func (c *Context) Deliver(r *req.Request) {
	c.done.Push(&r.Node)
	c.life.Release()
}

// Wake wakes a GetEvents (or a blocking caller) waiting for a delivery or
// for its ring's driver's work, on the channel or in the ring (req.Sink).
func (c *Context) Wake() {
	if c.parked.Load() > 0 {
		c.wakeChan()
	}
	if c.inRing.Load() {
		c.x.Kick()
	}
}

func (c *Context) wakeChan() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}
