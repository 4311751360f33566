package aio

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Context is the io_setup/io_submit/io_getevents of this runtime: a set of
// depth request slots, a Submit that never blocks, and GetEvents to collect
// completions. Several goroutines may use one Context.
//
// Owner: shared. The runtime's goroutines (shards, workers) only ever push
// completions onto done, a lock-free queue; the mutexes are taken by the
// users' goroutines alone, so a Submit never waits for a lock that
// completion delivery holds.
type Context struct {
	rt    *Runtime
	fast  executor    // the shard of this context's requests (nil: syscall backend)
	own   *callerExec // a ring its submitter drives itself (File's blocking methods), or nil
	cring *ctxRing    // the context's own ring (user contexts), or nil: the shard's
	depth int
	slots []request

	// blocking: the one-slot context of File's blocking methods (syncCtx),
	// whose fast requests past the caller rings go to the overflow ring.
	blocking bool

	freeMu sync.Mutex // guards free and closed; users' goroutines only
	free   []int32    // free slot numbers (a stack)
	closed bool

	done    mpsc          // completed requests; popped under getMu
	life    lifetime      // users: requests submitted and not yet delivered; Close waits for them
	notify  chan struct{} // a completion arrived (capacity 1: a wake-up, not a count)
	closing chan struct{} // closed by Close: wakes every waiter

	getMu sync.Mutex // one GetEvents (or Close) consumes done at a time
	timer *time.Timer
	// chanWait: a GetEvents waits on notify, not in the context's ring
	// (nothing of its was in flight there); a Submit that puts work on
	// the ring wakes it to wait there instead.
	chanWait atomic.Bool
	yield    yieldPacer // GetEvents's calls; guarded by getMu
}

// NewContext makes a context with room for depth requests in flight. On
// io_uring (unless Config.ShardContexts), it drives a ring of its own, into
// which Submit puts what the kernel can do without blocking and from
// which GetEvents reaps.
func (rt *Runtime) NewContext(depth int) (*Context, error) {
	c, err := rt.newContext(depth)
	if err != nil || rt.backend != BackendIOUring || rt.cfg.ShardContexts {
		return c, err
	}
	cr, err := newCtxRing(rt, depth)
	if err != nil {
		return c, nil // before Linux 6.13, or out of descriptors: the shard's ring
	}
	c.cring = cr
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
	if rt.life.isClosed() {
		return nil, ErrRuntimeClosed
	}
	c := &Context{rt: rt, depth: depth, slots: make([]request, depth), free: make([]int32, depth),
		notify: make(chan struct{}, 1), closing: make(chan struct{})}
	c.done.init()
	c.life.init()
	for i := range c.slots {
		c.slots[i].ctx = c
		c.slots[i].slot = int32(i)
		c.free[i] = int32(depth - 1 - i)
	}
	if s := rt.pickShard(); s != nil {
		c.fast = s
	}
	return c, nil
}

// Submit queues iocbs for I/O and returns how many it accepted, without
// waiting for anything: no lock another I/O holds, no system call that can
// block, no device. When the context is full it accepts what fits and
// returns ErrWouldBlock (errors.Is syscall.EAGAIN). Bad input is refused
// before anything is accepted: the error names the first bad IOCB's fault.
func (c *Context) Submit(iocbs ...*IOCB) (int, error) {
	for i, cb := range iocbs {
		if err := c.validate(cb); err != nil {
			releaseOps(iocbs[:i])
			return 0, err
		}
	}
	// Slot numbers are copied out under the lock: once it is released, a
	// completion may push onto the free stack over them.
	var stackIDs [64]int32
	ids := stackIDs[:0]
	if len(iocbs) > len(stackIDs) {
		ids = make([]int32, 0, len(iocbs))
	}
	c.freeMu.Lock()
	if c.closed || c.rt.life.isClosed() {
		c.freeMu.Unlock()
		releaseOps(iocbs)
		if c.closed {
			return 0, ErrContextClosed
		}
		return 0, ErrRuntimeClosed
	}
	n := min(len(iocbs), len(c.free))
	first := len(c.free) - n
	ids = append(ids, c.free[first:]...)
	c.free = c.free[:first]
	// Never refused: Close sets closed, under freeMu, before it closes
	// the lifetime.
	c.life.acquire(int64(n))
	c.freeMu.Unlock()

	// The requests the ring executor can take are placed on the context's
	// ring under its lock, and submitted in one enter. The lock is only
	// tried: while a GetEvents holds it (reaping), or another Submit, this
	// batch goes to the shard, and Submit never waits for it.
	onRing := c.cring != nil && c.cring.mu.TryLock()
	for i, slot := range ids {
		c.rt.start(&c.slots[slot], iocbs[i], onRing)
	}
	if onRing {
		c.cring.submitLocked()
		c.cring.mu.Unlock()
		if c.chanWait.Load() && c.cring.busy.Load() > 0 {
			c.wake()
		}
	}
	if n < len(iocbs) {
		releaseOps(iocbs[n:])
		return n, ErrWouldBlock
	}
	return n, nil
}

// releaseOps gives back the file references validate took for IOCBs that
// were not accepted.
func releaseOps(iocbs []*IOCB) {
	for _, cb := range iocbs {
		cb.File.opDone()
	}
}

// validate checks cb and, as its last step, counts it on its File
// (opStart); finish gives the count back, or releaseOps if Submit does not
// accept cb after all.
func (c *Context) validate(cb *IOCB) error {
	switch {
	case cb == nil:
		return ErrNilIOCB
	case cb.File == nil:
		return ErrNilFile
	case cb.File.rt != c.rt:
		return ErrOtherRuntime
	case !cb.Op.valid():
		return ErrUnknownOp
	case cb.Offset < 0:
		return ErrNegativeOffset
	case len(cb.Buf) > MaxIOBytes:
		return ErrBufferTooLarge
	case cb.Offset > math.MaxInt64-int64(len(cb.Buf)):
		return ErrNegativeOffset
	case cb.Op == OpAllocate && allocLength(cb) <= 0:
		return ErrBadLength
	case cb.Op == OpAllocate && cb.Offset > math.MaxInt64-allocLength(cb):
		return ErrNegativeOffset
	}
	if err := cb.File.checkAccess(cb.Op, cb.appended); err != nil {
		return err
	}
	if !cb.File.opStart() {
		return ErrClosed
	}
	return nil
}

// complete queues a finished request for GetEvents. It takes no lock.
func (c *Context) complete(r *request) {
	c.deliver(r)
	c.wake()
}

// deliver queues a finished request without waking a waiter: a shard
// delivers every completion of a pass, then wakes each context once.
func (c *Context) deliver(r *request) {
	c.done.push(r)
	c.life.release()
}

func (c *Context) wake() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
	if c.cring != nil {
		c.cring.kick() // a GetEvents waiting in the ring
	}
}

// ready reports whether a GetEvents need not wait: a completion is queued,
// or the context is closing.
func (c *Context) ready() bool {
	if !c.done.empty() {
		return true
	}
	select {
	case <-c.closing:
		return true
	default:
		return false
	}
}

// GetEvents waits until at least minEvents requests have completed (at
// most len(events)), or timeout passes, and fills events with completions.
// timeout < 0 waits without limit; 0 does not wait. It returns how many
// events it filled. Close wakes a waiting GetEvents: it returns the events
// it has taken, or ErrContextClosed when it has none, as does every later call.
func (c *Context) GetEvents(minEvents int, events []Event, timeout time.Duration) (int, error) {
	minEvents = min(max(minEvents, 0), len(events))
	c.getMu.Lock()
	defer c.getMu.Unlock()
	c.yield.tick()
	var deadline time.Time // read from the clock at the first wait: most calls never wait
	n := 0
	for {
		got, closed := c.take(events[n:])
		n += got
		if closed && n == 0 {
			return 0, ErrContextClosed
		}
		if closed {
			return n, nil
		}
		if n < len(events) && c.cring != nil && c.cring.pump() > 0 {
			continue // reaped: take what it completed
		}
		if n >= minEvents || timeout == 0 {
			return n, nil
		}
		left := time.Duration(0) // no limit
		if timeout > 0 {
			if deadline.IsZero() {
				deadline = time.Now().Add(timeout)
			}
			if left = time.Until(deadline); left <= 0 {
				return n, nil
			}
		}
		if c.cring != nil {
			if c.cring.isClosed() {
				return n, nil // the runtime closed: take returns closed next
			}
			// Kernel requests in flight in the ring: wait there, for their
			// CQEs (a delivery from elsewhere posts one). None: what is
			// awaited is on a worker or a shard, and a goroutine parked on
			// the channel gives its P to them at once, where a thread
			// asleep in io_uring_enter keeps it for up to 20 µs.
			c.chanWait.Store(true)
			if c.cring.busy.Load() > 0 {
				c.chanWait.Store(false)
				if c.cring.wait(left, c.ready) {
					continue
				}
				// Its enter refused for good: look at its CQ again soon.
				poll := ringPoll
				if left > 0 {
					poll = min(left, ringPoll)
				}
				c.waitNotify(poll)
				continue
			}
		}
		timedOut := c.waitNotify(left)
		c.chanWait.Store(false)
		if timedOut {
			return n, nil
		}
	}
}

// waitNotify waits for a completion or Close on the notify channel, at
// most left (0: no limit), with the context rings reaped meanwhile (this
// context's requests may wait on theirs: a barrier, a range lock). It
// reports whether it timed out.
func (c *Context) waitNotify(left time.Duration) bool {
	helping := reap.help()
	timedOut := false
	if left == 0 {
		select {
		case <-c.notify:
		case <-c.closing:
		}
	} else {
		if c.timer == nil {
			c.timer = time.NewTimer(left)
		} else {
			c.timer.Reset(left)
		}
		select {
		case <-c.notify:
			c.timer.Stop()
		case <-c.closing:
			c.timer.Stop()
		case <-c.timer.C:
			timedOut = true
		}
	}
	if helping {
		reap.unhelp()
	}
	return timedOut
}

// take moves completed requests into events and frees their slots. The
// caller holds getMu.
func (c *Context) take(events []Event) (int, bool) {
	var ids [64]int32
	k, n := 0, 0
	for n < len(events) {
		r := c.done.pop()
		if r == nil {
			break
		}
		events[n] = Event{IOCB: r.iocb, N: r.n, Err: r.err}
		r.reset()
		if k == len(ids) {
			c.release(ids[:k])
			k = 0
		}
		ids[k] = r.slot
		k++
		n++
	}
	return n, c.release(ids[:k])
}

// release returns slots to the free list and reports whether the context
// is closed.
func (c *Context) release(ids []int32) bool {
	c.freeMu.Lock()
	defer c.freeMu.Unlock()
	c.free = append(c.free, ids...)
	return c.closed
}

// Close refuses new requests, wakes any GetEvents waiting, waits for the
// context's requests in flight to complete, and drops the events not yet
// collected. A second Close returns ErrContextClosed.
func (c *Context) Close() error {
	c.freeMu.Lock()
	if c.closed {
		c.freeMu.Unlock()
		return ErrContextClosed
	}
	c.closed = true
	c.freeMu.Unlock()
	close(c.closing)
	c.life.close()
	if c.cring != nil {
		c.cring.kick() // a GetEvents waiting in the ring returns
		for !c.life.drained() {
			if c.cring.pump() == 0 && !c.cring.wait(0, c.life.drained) {
				time.Sleep(ringPoll) // its enter refused for good: look again soon
			}
		}
	} else {
		waitHelped(c.life.done) // every request submitted has been delivered
	}
	c.getMu.Lock()
	defer c.getMu.Unlock()
	var drop [16]Event
	for {
		if n, _ := c.take(drop[:]); n == 0 {
			break
		}
	}
	if c.cring != nil {
		c.cring.close()
		c.rt.untrack(c)
	}
	return nil
}
