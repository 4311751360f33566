package aio

import (
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/ring"
)

// ctxRing is a Context's own ring, driven by the Context's users: Submit
// places its requests and enters the kernel once to submit them, without
// waiting; GetEvents reaps the CQ itself and, when there is nothing, waits
// in io_uring_enter. No goroutine stands between them and the kernel (a
// shard costs two thread wake-ups per I/O). The ring is made without
// SINGLE_ISSUER, so any thread may enter it, with COOP_TASKRUN: a
// completion's task work runs on the thread that submitted it when that
// thread next enters the kernel (or at once, if it sleeps), which is
// where a Submit-then-GetEvents goroutine waits.
//
// Completions that do not come through this ring (a worker's, a shard's,
// one finished at Submit) are delivered to the Context's queue as before;
// when a GetEvents waits in the ring, the deliverer posts a CQE into it
// (ring.SendMsgRing) to wake it.
//
// The runtime's overflow ring is one too, of no Context: blocking calls
// past the caller rings place their requests on it, and only the reaper
// reaps it (newOverflowRing).
//
// Owner: whoever holds mu (a Submit placing requests, a blocking call on
// the overflow ring, a GetEvents, a Close or the runtime's reaper
// reaping); mu is never held across a wait.
// waiting and the ring's descriptor are read by anyone.
type ctxRing struct {
	mu sync.Mutex
	ringExec
	// waiting counts the goroutines announced to wait in io_uring_enter
	// (a GetEvents, a Close): a deliverer posts a CQE to wake them.
	waiting atomic.Int32
	closed  bool // guarded by mu
	// busy is the kernel requests in flight here as last added to
	// reap.inflight: written under mu, read by waiters without it.
	busy atomic.Int64
	// overflow: the runtime's ring for blocking calls past the caller
	// rings (newOverflowRing), not a Context's.
	overflow bool
}

// newCtxRing makes a ring for a context of depth requests, with room for
// a few kernel requests each, and registers the runtime's reap eventfd
// with it (signals off: on only while a Close waits, see reaper.go).
func newCtxRing(rt *Runtime, depth int) (*ctxRing, error) {
	entries := uint32(min(max(2*depth, 8), 4096))
	r, err := ring.New(ring.Config{Entries: entries, CoopTaskrun: true})
	if err != nil {
		return nil, err
	}
	c := &ctxRing{}
	c.init(rt, r, int(r.SQEntries()), int(r.CQEntries()))
	// Wake-ups from other goroutines are CQEs posted into the ring
	// (IORING_REGISTER_SEND_MSG_RING, Linux 6.13): without it, the
	// context uses the shards.
	if err := ring.SendMsgRing(r.Fd(), wakeTag, 0); err != nil {
		r.Close()
		return nil, err
	}
	c.ring.Reap(c.cqes)
	if err := reap.add(c); err != nil {
		r.Close()
		return nil, err
	}
	return c, nil
}

// account tells the reaper how many kernel requests are in flight here.
// mu is held.
func (c *ctxRing) account() {
	if d := int64(c.inflight) - c.busy.Load(); d != 0 {
		reap.inflight.Add(d)
		c.busy.Store(int64(c.inflight))
	}
}

// placeLocked places r on the ring (its SQEs are submitted by
// submitLocked). It reports false, having done nothing, when the ring
// cannot take r (it broke, or has no room): the caller uses the shard.
// mu is held.
func (c *ctxRing) placeLocked(r *request) bool {
	if c.broken || c.closed || !c.place(r) {
		return false
	}
	if c.overflow {
		c.rt.stats.overflowed.Add(1)
	} else {
		c.rt.stats.callerDriven.Add(1)
	}
	return true
}

// submitLocked hands the placed SQEs to the kernel, without waiting. When
// the kernel refuses for now (EBUSY, EAGAIN: its completion backlog is
// full), it reaps and tries again; what stays queued is submitted by the
// next Submit or GetEvents. mu is held.
func (c *ctxRing) submitLocked() {
	defer c.account()
	for try := 0; try < 4 && c.ring.SQPending() > 0; try++ {
		_, err := c.ring.Submit()
		if err == nil {
			return
		}
		c.enterFailed(err)
		if c.broken {
			c.flushWakes() // what enterFailed took back went to the workers
			return
		}
		c.reapLocked()
	}
}

// reapLocked completes every CQE the ring has and returns how many it
// took. mu is held.
func (c *ctxRing) reapLocked() int {
	total, wakes := 0, 0
	for {
		n := c.ring.Reap(c.cqes)
		for i := range n {
			if ud := c.cqes[i].UserData; ud != wakeTag {
				c.complete(int32(ud), c.cqes[i].Res)
			} else {
				wakes++
			}
		}
		total += n
		if n < len(c.cqes) {
			break
		}
	}
	c.flushWakes()
	c.account()
	if wakes > 0 && c.waiting.Load() > 0 {
		// The wake-up just reaped may be the one a waiter about to enter
		// the kernel counts on: io_uring_enter waits for a CQE past the
		// head it reads on entry, so a wake reaped before then is lost to
		// it (a GetEvents slept for ever this way, its completion queued,
		// while the reaper had reaped the kick). Whoever reaps is not
		// waiting, so it passes the wake on.
		c.postWake()
	}
	return total
}

// pump submits what is queued and reaps what is done; it reports how many
// CQEs it reaped.
func (c *ctxRing) pump() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0
	}
	if c.ring.SQPending() > 0 {
		c.submitLocked()
	}
	return c.reapLocked()
}

// wait waits in io_uring_enter until the ring has a CQE or timeout passes
// (timeout <= 0: no limit), unless ready says there is no need (checked
// after waiting is announced, so that a deliverer either sees the count or
// is seen by the check). It reports false when the kernel refused the
// enter for good (a seccomp filter installed since the ring was made):
// the ring is broken from then on, what it had not submitted went to the
// workers, and what is in the kernel still completes into its CQ, but
// nothing can sleep there; the caller polls (ringPoll).
func (c *ctxRing) wait(timeout time.Duration, ready func() bool) bool {
	c.waiting.Add(1)
	var err error
	if !ready() {
		err = c.ring.Await(1, timeout)
	}
	c.waiting.Add(-1)
	switch err {
	case nil, unix.EINTR, unix.EAGAIN, unix.EBUSY, ring.ErrClosed:
		return true // the caller's loop looks again (closed: Close's doing)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.enterFailed(err)
		c.flushWakes()
	}
	return false
}

// ringPoll is how often a waiter looks at a broken ring's CQ for the
// kernel requests still in it.
const ringPoll = time.Millisecond

// kick wakes the waiters with a CQE, if any wait.
func (c *ctxRing) kick() {
	if c.waiting.Load() > 0 {
		c.postWake()
	}
}

func (c *ctxRing) postWake() {
	ring.SendMsgRing(c.ring.Fd(), wakeTag, 0) // refused only before Linux 6.13: newCtxRing checked
}

// close closes the ring once the context has no request in flight.
func (c *ctxRing) close() {
	reap.remove(c)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		c.ring.Close()
		reap.inflight.Add(-c.busy.Load()) // none, unless the ring broke with requests in the kernel
		c.busy.Store(0)
	}
}

// isClosed reports whether the ring is closed (the runtime closed under
// a context that was never closed).
func (c *ctxRing) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}
