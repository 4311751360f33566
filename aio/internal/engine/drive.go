package engine

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/ring"
)

// Driving a ring: submitting what is placed, waiting for completions and
// reaping them. Drive is called by whoever may wait: a Context's
// GetEvents and Close, the leader of a shared ring; the helper does the
// same without waiting.

// Drive is one round of a driver: it places the deferred requests,
// submits what is placed and, with wait, waits in the same io_uring_enter
// until a CQE arrives (a completion, or a Kick) or timeout passes
// (timeout <= 0: no limit); then it reaps. It waits only while kernel
// requests are in flight and the CQ is empty, and not when ready says
// there is no need. It reports how many owners the reap woke, and
// false when the kernel refused the enter for good: the ring is broken
// from then on, what it had not submitted went to the workers, and what
// the kernel took still completes into its CQ, which Drive reaps, but
// nothing can wait there (the caller polls, PollBroken).
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
			// Checked once counted, so that a Kick either sees this
			// waiter or is seen: a delivery, or a request queued since
			// the placing (with room for it), ends the wait before it
			// starts.
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

// enterDone handles an io_uring_enter's error by name; it reports false
// when the ring is broken. EBUSY and EAGAIN mean "not now" (the kernel's
// backlog of completions is full, or it is short of memory): the SQEs
// stay published, the reap that follows makes room. ETIME is a timed
// wait that ran out; the ring package retries EINTR. Anything else means
// the ring cannot be driven any more (a seccomp filter installed since
// the proving NOP, a ring the kernel tore down): what the kernel has not
// consumed is taken back and sent to the workers, and so is everything
// after. Requests the kernel had consumed still complete into the CQ
// (COOP_TASKRUN posts them as their thread returns from any system call),
// where a poll finds them.
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

// PollBroken is how often a waiter on a broken ring looks at its CQ for
// the kernel requests still in it.
const PollBroken = time.Millisecond

// Kick wakes the goroutines waiting in the ring's io_uring_enter, if any:
// a completion delivered from elsewhere (a worker), or work for the
// driver (a deferred request), is theirs to see. It never waits.
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

// waitKickers waits for the Kicks that saw the ring open to be done with
// its descriptor. closed is set.
func (x *Ring) waitKickers() {
	for x.kickers.Load() > 0 {
		runtime.Gosched()
	}
}
