package aio

import "github.com/nowaitio/nowait/ring"

// callerExec is a ring that the calling goroutine drives itself: the
// blocking File methods place their request on it and submit and wait in
// one io_uring_enter, on their own thread, with no goroutine between them
// and the kernel (the shard costs two thread wake-ups per I/O). The ring
// is made without SINGLE_ISSUER: whichever thread the goroutine runs on
// may drive it, and the thread that submits is the one that waits, so a
// completion's task work runs where it is waited for (COOP_TASKRUN spares
// the interrupt).
//
// A caller drives its ring only while at most GOMAXPROCS blocking calls
// are in progress (Runtime.blocking); past that its request goes to the
// overflow ring (newOverflowRing), or to the shard when that is busy: a
// thread asleep in io_uring_enter keeps its P, and more sleepers than Ps
// starved each other (32 goroutines calling ReadAt: 28-32 µs a read on
// caller rings, 15-16 µs through the shards).
//
// Owner: the goroutine holding the syncCtx it belongs to, one at a time.
type callerExec struct {
	ringExec
	yield yieldPacer
}

// callerRingEntries: one request at a time needs few kernel requests (a
// plan bigger than half the slots goes to a worker).
const callerRingEntries = 16

func newCallerExec(rt *Runtime) (*callerExec, error) {
	r, err := ring.New(ring.Config{Entries: callerRingEntries, CoopTaskrun: true})
	if err != nil {
		return nil, err
	}
	c := &callerExec{}
	c.init(rt, r, int(r.SQEntries()), int(r.CQEntries()))
	return c, nil
}

// run places r and drives the ring until its kernel requests are done;
// by then r is finished (delivered to its context) or handed to a worker.
// It reports false, having done nothing, when the ring cannot take r (it
// broke, or has no room), for the caller to use the shard instead.
func (c *callerExec) run(r *request) bool {
	if c.broken || !c.place(r) {
		return false
	}
	c.rt.stats.callerDriven.Add(1)
	for c.inflight > 0 {
		c.yield.tick()
		if _, err := c.ring.SubmitAndWait(1); err != nil {
			c.enterFailed(err) // EBUSY/EAGAIN: reap below, then again
			if c.broken {
				break // what the kernel took cannot be reaped: see enterFailed
			}
		}
		n := c.ring.Reap(c.cqes)
		for i := range n {
			c.complete(int32(c.cqes[i].UserData), c.cqes[i].Res)
		}
	}
	c.flushWakes()
	return true
}

func (c *callerExec) close() {
	if c.ring != nil && !c.ring.Closed() {
		c.ring.Close()
	}
}

// newOverflowRing makes the ring that File's blocking calls use past
// callerDriveMax: nil where a context ring cannot be made.
//
// Past GOMAXPROCS blocking calls at once, a caller must not sleep in
// io_uring_enter (its thread would keep its P from the others); through
// the shard it cost two hand-offs, one of them to the shard's locked
// thread. On the overflow ring each caller places and submits its own
// request (one io_uring_enter, no waiting) and parks on its context's
// channel with the reaper's help on (reaper.go): the reaper's goroutine,
// woken through the netpoller by the ring's eventfd, reaps and delivers.
// 32 goroutines calling ReadAt: 13.4-14.5 µs a read against the shard's
// 17.4-19.1, three interleaved rounds (decisions.md).
func newOverflowRing(rt *Runtime) *ctxRing {
	c, err := newCtxRing(rt, rt.cfg.QueueDepth)
	if err != nil {
		return nil
	}
	c.overflow = true
	return c
}

// submitOne places r on c and submits it, without waiting. It reports
// false, having done nothing, when c's lock is held (a reaper's pass,
// another caller) or c cannot take r: the caller uses the shard.
func (c *ctxRing) submitOne(r *request) bool {
	if !c.mu.TryLock() {
		return false
	}
	defer c.mu.Unlock()
	if !c.placeLocked(r) {
		return false
	}
	c.submitLocked()
	return true
}

// callerRingsPerP caps the caller rings at this many per P: past it, the
// blocking methods use the shards, so that many goroutines cannot take a
// ring (a descriptor and its memory) each.
const callerRingsPerP = 4

// syncCtx is a one-slot context with its IOCB and event, for the blocking
// methods, and the caller-driven ring its fast requests run on (nil past
// the cap, or without io_uring: they go to the shard). Kept in the
// runtime's free list: a blocking call allocates nothing.
//
// Owner: the goroutine that took it from the free list, until it puts it
// back.
type syncCtx struct {
	ctx *Context
	cb  IOCB
	ev  [1]Event
}

// getSyncCtx takes a syncCtx from the free list, or makes one: nil when
// the runtime is closed.
func (rt *Runtime) getSyncCtx() *syncCtx {
	rt.syncMu.Lock()
	if n := len(rt.syncFree); n > 0 {
		sc := rt.syncFree[n-1]
		rt.syncFree = rt.syncFree[:n-1]
		rt.syncMu.Unlock()
		return sc
	}
	withRing := rt.backend == BackendIOUring && rt.callerRings < rt.callerRingsMax
	if withRing {
		rt.callerRings++
	}
	rt.syncMu.Unlock()
	c, err := rt.newContext(1) // its fast requests run on its caller ring
	var own *callerExec
	if err == nil && withRing {
		own, _ = newCallerExec(rt) // none: this one uses the shard
	}
	rt.syncMu.Lock()
	defer rt.syncMu.Unlock()
	if own != nil {
		rt.syncAll = append(rt.syncAll, own)
	} else if withRing {
		rt.callerRings--
	}
	if err != nil {
		return nil
	}
	c.own, c.blocking = own, true
	return &syncCtx{ctx: c}
}

func (rt *Runtime) putSyncCtx(sc *syncCtx) {
	rt.syncMu.Lock()
	rt.syncFree = append(rt.syncFree, sc)
	rt.syncMu.Unlock()
}
