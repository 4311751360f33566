package engine

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/ring"
)

// Drive is one round of a driver (a GetEvents, a Close, a shared ring's
// leader): it places the queued requests, submits what is placed and,
// with wait, waits in the same io_uring_enter for a CQE (a completion,
// or a Kick) or timeout (<= 0: no limit); then it reaps. It waits only
// with kernel requests in flight, an empty CQ and ready false. It reports
// how many owners the reap woke, and false when the kernel refused the
// enter for good (the ring is broken: the caller polls, PollBroken).
func (x *Ring) Drive(wait bool, timeout time.Duration, ready func() bool) (woke int, ok bool) {
	room := true
	if x.deferredN.Load() > 0 {
		x.sqMu.Lock()
		if !x.closed.Load() {
			room = x.placeDeferred()
			x.k.Publish()
		}
		x.sqMu.Unlock()
	}
	if x.closed.Load() {
		return 0, true
	}
	ok = true
	if !x.broken.Load() {
		var err error
		switch {
		case wait && x.inflight.Load() > 0 && x.k.CQReady() == 0:
			// One io_uring_enter submits what is placed and waits.
			x.waiting.Add(1)
			// Checked once counted, so that a Kick sees this waiter or
			// is seen: a delivery, or a request queued since placing.
			if (ready != nil && ready()) || (room && x.deferredN.Load() > 0) {
				err = x.submit()
			} else {
				err = x.k.Enter(1, timeout)
			}
			x.waiting.Add(-1)
		default:
			err = x.submit()
		}
		ok = x.enterDone(err)
	}
	x.cqMu.Lock()
	if !x.closed.Load() {
		x.reapLocked()
		woke = x.woke
		x.woke = 0
	}
	x.cqMu.Unlock()
	x.env.FlushWorkers()
	return woke, ok
}

// submit hands the kernel what is published, without waiting.
func (x *Ring) submit() error {
	if x.k.Unconsumed() == 0 && !x.k.CompletionsPending() {
		return nil
	}
	return x.k.Enter(0, 0)
}

// enterDone handles an io_uring_enter's error; false: the ring is broken.
// EBUSY and EAGAIN mean "not now", ETIME a timed wait ran out. Anything
// else (a seccomp filter installed since the proving NOP) breaks the
// ring: what the kernel has not taken goes to the workers, and so does
// everything after; what it took still completes into the CQ.
func (x *Ring) enterDone(err error) bool {
	switch err {
	case nil, unix.ETIME, unix.EBUSY, unix.EAGAIN, unix.EINTR, ring.ErrClosed:
		return true
	}
	x.sqMu.Lock()
	x.cqMu.Lock()
	if !x.closed.Load() && !x.broken.Swap(true) {
		x.k.Unsubmit(func(ud uint64) {
			if ud != wakeTag {
				x.takeBack(int32(ud))
			}
		})
		x.placeDeferred() // to the workers, now that the ring is broken
		x.flushWakes()
	}
	x.cqMu.Unlock()
	x.sqMu.Unlock()
	return false
}

// PollBroken is how often a waiter looks at a broken ring's CQ.
const PollBroken = time.Millisecond

// Kick wakes the goroutines waiting in the ring's io_uring_enter, if any
// (a worker's delivery, work to place is theirs to see). It never waits.
func (x *Ring) Kick() {
	if x.waiting.Load() == 0 {
		return
	}
	x.kickers.Add(1)
	if !x.closed.Load() {
		x.postWake()
	}
	x.kickers.Add(-1)
}

func (x *Ring) postWake() {
	ring.SendMsgRing(x.k.Fd(), wakeTag, 0) // refused only before Linux 6.13: NewRing checked
}

// waitKickers waits for the Kicks that saw the ring open. closed is set.
func (x *Ring) waitKickers() {
	for x.kickers.Load() > 0 {
		runtime.Gosched()
	}
}
