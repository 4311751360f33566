package aio

import (
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/ring"
)

// A shard is one ring executor and the submitter goroutine that owns it.
// Submit pushes requests onto the shard's queue and, only if the submitter
// sleeps, wakes it through an eventfd. The submitter places each request
// on its ring (ringExec: the map walk, RWF_NOWAIT bios, or a hand-off to a
// worker), reaps completions and delivers them to the contexts.
type shard struct {
	ringExec // owned by the submitter goroutine alone
	id       int
	q        mpsc
	sleeping atomic.Int32 // 1 while the submitter sleeps
	efd      int          // the wake-up eventfd, written by Submit and by the ring
	efdFile  *os.File     // efd in Go's netpoller
	stopping atomic.Bool
	started  chan error
	exited   chan struct{}

	// Owned by the submitter goroutine alone.
	deferred []*request // taken from the queue, waiting for free slots
	fixedOK  bool       // the ring has the fixed-file table
	parks    bool       // sleeps in the netpoller (else in io_uring_enter)
	efdBuf   [8]byte
}

const (
	wakeTag = ^uint64(0)
	// pollBeforeSleep: with I/O in flight the submitter polls this long
	// for a completion before it sleeps (docs/decisions.md).
	pollBeforeSleep = 5 * time.Microsecond
)

var eventfdOne = [8]byte{1}

// testRingHook, set only by tests, runs on each shard's goroutine once its
// ring is set up, before the shard takes requests: fault injectors are
// installed there, by the ring's owner.
var testRingHook func(s *shard)

// testExecHook, set only by tests, runs for every ring executor (the
// shards' and the caller rings) once its ring is set up, on its owner's
// goroutine: fault injectors go there.
var testExecHook func(x *ringExec)

// testSleepInRing, set only by tests, makes shards sleep in io_uring_enter,
// as they do when the kernel refuses to register the eventfd.
var testSleepInRing bool

func startShard(rt *Runtime, id int) (*shard, error) {
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	s := &shard{id: id, efd: efd, started: make(chan error, 1), exited: make(chan struct{})}
	s.rt = rt                                           // the loop reads the config before the ring exists
	s.efdFile = os.NewFile(uintptr(efd), "nowait-wake") // non-blocking: pollable
	s.q.init()
	go s.loop()
	if err := <-s.started; err != nil {
		s.efdFile.Close()
		return nil, err
	}
	return s, nil
}

// submit queues r; it never blocks (an eventfd write only when the
// submitter sleeps).
func (s *shard) submit(r *request) {
	s.q.push(r)
	if s.sleeping.CompareAndSwap(1, 0) {
		unix.Write(s.efd, eventfdOne[:])
	}
}

func (s *shard) stop() {
	s.stopping.Store(true)
	unix.Write(s.efd, eventfdOne[:])
	<-s.exited
}

func (s *shard) loop() {
	// The ring is bound to this thread (SINGLE_ISSUER). Not DEFER_TASKRUN:
	// its completions would be posted only inside io_uring_enter, so a ring
	// whose enter is refused for good (a seccomp filter installed mid-run)
	// with I/O in the kernel could never complete that I/O, and Close
	// would wait forever (TestRingRefusedWithIOInFlight). COOP_TASKRUN
	// posts them on the thread's next return from any system call, which
	// idle makes while it polls. Measured the same (ReadAt from 32
	// goroutines 16.4-17.8 µs either way; 16 appends + SyncData on the
	// shards 47k-53k appends/s either way; decisions.md).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(s.exited)
	qd := s.rt.cfg.QueueDepth
	r, err := ring.New(ring.Config{Entries: uint32(qd), CQEntries: uint32(2 * qd), SingleIssuer: true, CoopTaskrun: true})
	if err != nil {
		s.started <- err
		return
	}
	s.init(s.rt, r, qd-1, 2*qd) // one SQ entry stays for a wake-up poll (armWakeup)
	s.registerFileTable(s.rt.cfg.FixedFiles)
	s.setupWakeup()
	if testRingHook != nil {
		testRingHook(s)
	}
	s.started <- nil
	for {
		progressed := s.pump()
		if s.ring.SQPending() > 0 {
			if _, err := s.ring.Submit(); err != nil {
				s.enterFailed(err)
			}
		}
		reaped := s.reap()
		s.flushWakes()
		if progressed || reaped > 0 {
			continue
		}
		if s.stopping.Load() && s.inflight == 0 && len(s.deferred) == 0 && s.q.empty() {
			break
		}
		s.idle()
	}
	s.ring.Close()
	s.efdFile.Close()
}

// setupWakeup chooses where the submitter sleeps. Best is Go's netpoller,
// on the eventfd registered with the ring: a parked goroutine gives its P
// back at once, where a thread asleep in io_uring_enter keeps it until the
// runtime's monitor takes it back, which on a quiet program takes up to
// 10 ms (docs/decisions.md). Without a registered eventfd, the ring polls
// the eventfd and the submitter sleeps in io_uring_enter.
func (s *shard) setupWakeup() {
	if !testSleepInRing && s.ring.RegisterEventfd(s.efd) == nil {
		s.parks = true
		s.ring.SetEventfdNotify(false) // on only while asleep
		return
	}
	s.armWakeup()
}

func (s *shard) armWakeup() {
	sqe := s.ring.NextSQE()
	sqe.PrepPollAdd(int32(s.efd), unix.POLLIN, true)
	sqe.UserData = wakeTag
}

// idle waits for work: it polls briefly while I/O is in flight, then
// sleeps in the kernel until a completion or a wake-up arrives.
func (s *shard) idle() {
	if s.inflight > 0 {
		for t0 := time.Now(); time.Since(t0) < pollBeforeSleep; {
			if s.ring.CompletionsPending() || !s.q.empty() {
				return
			}
		}
	}
	if !s.broken && (!s.parks || s.ring.SQPending() > 0) {
		// In the ring: the fallback, or SQEs the kernel refused (EBUSY)
		// that this enter submits again. Those complete, so a parking
		// shard, which has no eventfd poll in the ring, still wakes.
		s.sleeping.Store(1)
		if s.q.empty() {
			if _, err := s.ring.SubmitAndWait(1); err != nil {
				s.enterFailed(err)
			}
		}
		s.sleeping.Store(0)
		return
	}
	if s.broken && s.inflight > 0 {
		// I/O still in the refused ring: its completions arrive in the CQ
		// (posted as this thread returns from the sleep), reaped by the loop.
		time.Sleep(ringPoll)
		return
	}
	if s.broken {
		// No ring to wait in: the netpoller, woken by Submit alone.
		s.sleeping.Store(1)
		if s.q.empty() {
			s.efdFile.Read(s.efdBuf[:])
		}
		s.sleeping.Store(0)
		return
	}
	// Signals on, then look: a completion or a Submit after the look
	// signals the eventfd, one before it is seen (SetEventfdNotify).
	s.ring.SetEventfdNotify(true)
	s.sleeping.Store(1)
	if s.q.empty() && !s.ring.CompletionsPending() {
		s.efdFile.Read(s.efdBuf[:])
	}
	s.sleeping.Store(0)
	s.ring.SetEventfdNotify(false)
}

// pump places deferred requests, then new ones, while there is room.
func (s *shard) pump() bool {
	progressed := false
	for len(s.deferred) > 0 {
		if !s.place(s.deferred[0]) {
			return progressed
		}
		s.deferred[0] = nil
		s.deferred = s.deferred[1:]
		progressed = true
	}
	for s.broken || (len(s.free) > 0 && s.ring.SQSpace() > 0) {
		r := s.q.pop()
		if r == nil {
			break
		}
		progressed = true
		if s.broken && r.op != opFilesUpdate { // a register, not an enter: it still works
			s.rt.stats.ringRefused.Add(1)
			s.toWorker(r)
			continue
		}
		if !s.place(r) {
			s.deferred = append(s.deferred, r)
			break
		}
	}
	return progressed
}

// enterFailed handles an error of io_uring_enter by name. EBUSY and
// EAGAIN mean "not now" (the kernel's backlog of completions is full, or
// it is short of memory): the SQEs stay queued, the loop reaps, then
// submits again. EINTR never reaches here (the ring retries it), nor ETIME
// (no timed wait here). Anything else means the ring cannot be driven any
// more (a seccomp filter installed since the proving NOP, a ring the
// kernel tore down): what the kernel has not consumed is taken back and
// sent to the workers, and so is everything after. Requests the kernel
// had consumed cannot be reaped without io_uring_enter; they never
// complete (reliability.md says so).
func (s *ringExec) enterFailed(err error) {
	if err == unix.EBUSY || err == unix.EAGAIN {
		return
	}
	s.broken = true
	s.ring.Unsubmit(func(ud uint64) {
		if ud != wakeTag {
			s.takeBack(int32(ud))
		}
	})
}

// place starts r: a ring-table update on the shard itself (the ring's
// owner registers), everything else through the ring executor.
func (s *shard) place(r *request) bool {
	if r.op == opFilesUpdate {
		s.placeFilesUpdate(r)
		return true
	}
	return s.ringExec.place(r)
}

// reap handles every completion the ring has.
func (s *shard) reap() int {
	n := s.ring.Reap(s.cqes)
	for i := range n {
		c := &s.cqes[i]
		if c.UserData == wakeTag {
			unix.Read(s.efd, s.efdBuf[:])
			if c.Flags&ring.CQEFMore == 0 {
				s.armWakeup() // the kernel ended the multishot poll: arm it again
			}
			continue
		}
		s.complete(int32(c.UserData), c.Res)
	}
	return n
}
