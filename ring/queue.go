package ring

import (
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// NextSQE hands out the next free submission queue entry, zeroed, or nil
// when the queue is full (submit, then try again) or the ring is closed.
// The entry is published to the kernel by the next Submit.
func (r *Ring) NextSQE() *SQE {
	q := &r.sq
	if q.sqes == nil || q.sqeTail-atomic.LoadUint32(q.head) >= q.entries {
		return nil
	}
	sqe := &q.sqes[q.sqeTail&q.mask]
	*sqe = SQE{}
	q.sqeTail++
	return sqe
}

// SQSpace is how many more SQEs NextSQE can hand out before a submit.
func (r *Ring) SQSpace() uint32 {
	if r.sq.sqes == nil {
		return 0
	}
	return r.sq.entries - (r.sq.sqeTail - atomic.LoadUint32(r.sq.head))
}

// SQPending is how many SQEs were handed out but not yet taken by the kernel.
func (r *Ring) SQPending() uint32 {
	if r.sq.sqes == nil {
		return 0
	}
	return r.sq.sqeTail - atomic.LoadUint32(r.sq.head)
}

// Publish makes the SQEs handed out so far visible to the kernel (a
// release store of the SQ tail), without entering it: the next
// io_uring_enter, by anyone, submits them (Enter). Producer side.
func (r *Ring) Publish() {
	if r.sq.sqes != nil {
		atomic.StoreUint32(r.sq.tail, r.sq.sqeTail)
	}
}

// Unconsumed is how many published SQEs the kernel has not taken yet.
// Any goroutine.
func (r *Ring) Unconsumed() uint32 {
	if r.sq.sqes == nil {
		return 0
	}
	return atomic.LoadUint32(r.sq.tail) - atomic.LoadUint32(r.sq.head)
}

// Enter submits every published SQE the kernel has not taken and, with
// minComplete > 0, waits in the same system call until minComplete CQEs
// are ready to reap or timeout passes (timeout <= 0: no limit; a timeout
// is unix.ETIME). It touches no user-side state of the SQ or the CQ, so on
// a ring made without SingleIssuer any goroutine may call it beside the
// producer and the reaper (split ownership). One timed waiter at a time:
// its argument lives in the Ring. It returns the raw errno; EBUSY and
// EAGAIN mean "reap, then enter again".
func (r *Ring) Enter(minComplete uint32, timeout time.Duration) error {
	var toSubmit, flags uint32
	if r.Unconsumed() > 0 {
		toSubmit = r.sq.entries // the kernel takes what is there
	}
	if minComplete > 0 || r.cqNeedsEnter() {
		flags |= enterGetEvents
	}
	if toSubmit == 0 && flags == 0 {
		return nil
	}
	if minComplete > 0 && timeout > 0 && r.features&FeatExtArg != 0 {
		r.waitTs = Timespec{Sec: int64(timeout / time.Second), Nsec: int64(timeout % time.Second)}
		r.waitArg = getEventsArg{Ts: uint64(uintptr(unsafe.Pointer(&r.waitTs)))}
		_, err := r.enter(toSubmit, minComplete, flags|enterExtArg, unsafe.Pointer(&r.waitArg), unsafe.Sizeof(r.waitArg))
		return err
	}
	_, err := r.enter(toSubmit, minComplete, flags, nil, 0)
	return err
}

// flush publishes the SQEs handed out so far and returns how many the
// kernel has yet to consume.
func (r *Ring) flush() uint32 {
	q := &r.sq
	atomic.StoreUint32(q.tail, q.sqeTail)
	return q.sqeTail - atomic.LoadUint32(q.head)
}

// Submit hands every prepared SQE to the kernel and returns how many it
// consumed. It does not wait for completions.
//
// If the kernel refuses work for now, Submit returns the raw errno:
// unix.EBUSY (its backlog of overflowed completions is full) or unix.EAGAIN
// (it could not allocate a request). The caller then reaps with Reap and
// calls Submit again; the unsubmitted SQEs stay queued, and no CQE is lost.
// SubmitAndReap does exactly that loop.
func (r *Ring) Submit() (int, error) {
	return r.SubmitAndWait(0)
}

// SubmitAndWait is Submit, then a wait in the same system call until at
// least waitNr completions are ready to reap.
func (r *Ring) SubmitAndWait(waitNr uint32) (int, error) {
	if r.closed {
		return 0, ErrClosed
	}
	toSubmit := r.flush()
	var flags uint32
	if waitNr > 0 || r.cqNeedsEnter() {
		flags |= enterGetEvents
	}
	if r.setupFlags&SetupSQPoll != 0 {
		// The kernel thread submits; enter only to wake it or to wait.
		if atomic.LoadUint32(r.sq.flags)&sqNeedWakeup != 0 {
			flags |= enterSQWakeup
		}
		if flags == 0 {
			return int(toSubmit), nil
		}
	} else if toSubmit == 0 && flags == 0 {
		return 0, nil
	}
	return r.enter(toSubmit, waitNr, flags, nil, 0)
}

// SubmitAndReap submits every prepared SQE. When the kernel answers EBUSY
// or EAGAIN it reaps completions into dst to make room and tries again. It
// returns the number of CQEs written to dst. If dst fills while the kernel
// still refuses, it returns the errno with the SQEs still queued: handle
// dst and call again.
func (r *Ring) SubmitAndReap(dst []CQE) (int, error) {
	reaped := 0
	for {
		n, err := r.Submit()
		if err == nil {
			// A failed SQE ends a batch early (its CQE says why): go on
			// while the kernel makes progress. With SQPOLL the kernel
			// thread consumes the rest on its own.
			if r.SQPending() == 0 || n == 0 || r.setupFlags&SetupSQPoll != 0 {
				return reaped, nil
			}
			continue
		}
		if err != unix.EBUSY && err != unix.EAGAIN {
			return reaped, err
		}
		if reaped == len(dst) {
			return reaped, err
		}
		got := r.Reap(dst[reaped:])
		if got == 0 {
			// Nothing to reap yet: wait for one completion to make room.
			if _, werr := r.enterGetEvents(1); werr != nil && werr != unix.EBUSY && werr != unix.EAGAIN {
				return reaped, werr
			}
		}
		reaped += got
	}
}

// cqNeedsEnter reports whether completions are held in the kernel until we
// enter it: overflowed CQEs waiting for room (FEAT_NODROP keeps them), or
// deferred completion work (DEFER_TASKRUN/COOP_TASKRUN with TASKRUN_FLAG).
func (r *Ring) cqNeedsEnter() bool {
	return atomic.LoadUint32(r.sq.flags)&(sqCQOverflow|sqTaskrun) != 0
}

// CompletionsPending reports, without a system call, whether Reap would
// find a completion: one is in the CQ, or the kernel holds some back for
// us (deferred task work, overflow backlog). An owner with I/O in flight
// can poll it for a short while before it sleeps in the kernel: on a
// virtual machine, waking a halted CPU costs more than the gap between
// completions at high queue depth.
func (r *Ring) CompletionsPending() bool {
	if r.cq.cqes == nil {
		return false
	}
	return atomic.LoadUint32(r.cq.tail) != atomic.LoadUint32(r.cq.head) || r.cqNeedsEnter()
}

// CQReady is how many CQEs can be reaped without entering the kernel.
func (r *Ring) CQReady() uint32 {
	if r.cq.cqes == nil {
		return 0
	}
	return atomic.LoadUint32(r.cq.tail) - atomic.LoadUint32(r.cq.head) // head too: Await reads it beside the reaper
}

// Reap copies up to len(dst) completions into dst, frees their slots and
// returns how many it copied. It never waits. When the kernel holds
// completions back (overflow backlog, deferred task work), Reap enters the
// kernel once to have them posted.
func (r *Ring) Reap(dst []CQE) int {
	if r.cq.cqes == nil || len(dst) == 0 {
		return 0
	}
	n := r.copyCQEs(dst)
	if n < len(dst) && r.cqNeedsEnter() {
		r.enterGetEvents(0)
		n += r.copyCQEs(dst[n:])
	}
	return n
}

func (r *Ring) copyCQEs(dst []CQE) int {
	q := &r.cq
	head := *q.head
	ready := atomic.LoadUint32(q.tail) - head
	n := min(uint32(len(dst)), ready)
	for i := uint32(0); i < n; i++ {
		dst[i] = q.cqes[(head+i)&q.mask]
	}
	atomic.StoreUint32(q.head, head+n)
	if r.cqeFault != nil {
		for i := uint32(0); i < n; i++ {
			r.cqeFault(&dst[i])
		}
	}
	return int(n)
}

// enterGetEvents enters the kernel to run deferred completion work, flush
// overflowed CQEs and, with minComplete > 0, wait for that many.
func (r *Ring) enterGetEvents(minComplete uint32) (int, error) {
	return r.enter(0, minComplete, enterGetEvents, nil, 0)
}

// Wait reaps into dst until it holds at least minComplete completions, or
// the timeout passes (timeout <= 0 waits without limit). It submits
// nothing. It returns the number of CQEs written to dst; a timeout is not
// an error. minComplete is capped at len(dst).
func (r *Ring) Wait(dst []CQE, minComplete int, timeout time.Duration) (int, error) {
	if r.closed {
		return 0, ErrClosed
	}
	minComplete = min(minComplete, len(dst))
	n := r.Reap(dst)
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for n < minComplete {
		var err error
		if timeout > 0 {
			left := time.Until(deadline)
			if left <= 0 {
				return n, nil
			}
			err = r.waitTimed(uint32(minComplete-n), left)
		} else {
			_, err = r.enterGetEvents(uint32(minComplete - n))
		}
		n += r.Reap(dst[n:])
		if err == unix.ETIME {
			return n, nil
		}
		if err != nil && err != unix.EBUSY && err != unix.EAGAIN {
			return n, err
		}
	}
	return n, nil
}

// waitTimed waits for minComplete completions or the timeout, with the
// timeout passed to the kernel (IORING_ENTER_EXT_ARG, kernel 5.11).
func (r *Ring) waitTimed(minComplete uint32, timeout time.Duration) error {
	if r.features&FeatExtArg == 0 {
		// Without EXT_ARG a timed wait would need a TIMEOUT SQE; the
		// kernels this project supports all have EXT_ARG, so poll instead.
		time.Sleep(min(timeout, time.Millisecond))
		_, err := r.enterGetEvents(0)
		return err
	}
	r.waitTs = Timespec{Sec: int64(timeout / time.Second), Nsec: int64(timeout % time.Second)}
	r.waitArg = getEventsArg{Ts: uint64(uintptr(unsafe.Pointer(&r.waitTs)))}
	_, err := r.enter(0, minComplete, enterGetEvents|enterExtArg,
		unsafe.Pointer(&r.waitArg), unsafe.Sizeof(r.waitArg))
	return err
}

// Unsubmit takes back every SQE the kernel has not consumed, calling fn
// with each one's user_data in order, and returns how many it took back.
// An owner whose io_uring_enter fails for good (a seccomp filter installed
// since the ring was made, a ring the kernel tore down) hands their work
// elsewhere this way, rather than leaving it queued for ever. The kernel
// consumes SQEs only inside io_uring_enter, which the owner is not in; a
// ring with SQPOLL, whose kernel thread consumes them at any time, is
// refused.
func (r *Ring) Unsubmit(fn func(userData uint64)) (int, error) {
	if r.closed {
		return 0, ErrClosed
	}
	if r.setupFlags&SetupSQPoll != 0 {
		return 0, fmt.Errorf("ring: Unsubmit on an SQPOLL ring, whose kernel thread consumes entries at any time: %w", unix.EINVAL)
	}
	q := &r.sq
	head := atomic.LoadUint32(q.head)
	for i := head; i != q.sqeTail; i++ {
		fn(q.sqes[i&q.mask].UserData)
	}
	n := q.sqeTail - head
	q.sqeTail = head
	atomic.StoreUint32(q.tail, head)
	return int(n), nil
}

// Await waits until at least minComplete completions are ready to reap,
// or timeout passes (timeout <= 0: no limit); it reaps nothing. On a ring
// made without SingleIssuer one goroutine may Await while another
// submits and reaps: Await reads only the CQ tail, and the kernel lets
// any thread enter. A CQE posted by SendMsgRing wakes it. A timeout is
// not an error.
func (r *Ring) Await(minComplete uint32, timeout time.Duration) error {
	if r.closed {
		return ErrClosed
	}
	if r.CQReady() >= minComplete {
		return nil
	}
	var err error
	if timeout > 0 {
		err = r.waitTimed(minComplete, timeout)
	} else {
		_, err = r.enterGetEvents(minComplete)
	}
	if err == unix.ETIME {
		return nil
	}
	return err
}
