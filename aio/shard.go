package aio

import (
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/bio"
	"github.com/nowaitio/nowait/iomap"
	"github.com/nowaitio/nowait/ring"
)

// A shard is one ring and the submitter goroutine that owns it. Submit
// pushes requests onto the shard's queue and, only if the submitter sleeps,
// wakes it through an eventfd. The submitter maps each
// request, sends what the kernel can do without blocking straight to the
// ring with RWF_NOWAIT, hands the rest to a worker, reaps completions and
// delivers them to the contexts.
type shard struct {
	rt       *Runtime
	id       int
	q        mpsc
	sleeping atomic.Int32 // 1 while the submitter sleeps
	efd      int          // the wake-up eventfd, written by Submit and by the ring
	efdFile  *os.File     // efd in Go's netpoller
	stopping atomic.Bool
	started  chan error
	exited   chan struct{}

	// Owned by the submitter goroutine alone.
	ring     *ring.Ring
	slots    []bioSlot // one per kernel request in flight
	free     []int32
	inflight int
	deferred []*request // taken from the queue, waiting for free slots
	builder  bio.Builder
	plan     []planned
	cqes     []ring.CQE
	wakes    []*Context // contexts with new completions, woken once per pass
	fixedOK  bool       // the ring has the fixed-file table
	parks    bool       // sleeps in the netpoller (else in io_uring_enter)
	it       iomap.Iter
	efdBuf   [8]byte
}

type slotKind uint8

const (
	kindRead slotKind = iota + 1
	kindWrite
	kindEdgeRead // an aligned unit around an unaligned read edge
	kindSync
)

// bioSlot is one kernel request in flight; its index is the SQE's
// user_data. Its bio's segments and iovecs live here, so that they stay
// put until the completion.
type bioSlot struct {
	req  *request
	kind slotKind
	bio  bio.Bio
	segs [maxSegs]bio.Segment
	iov  [maxSegs]unix.Iovec
	edge bio.Buffer // kindEdgeRead: the unit's buffer
	dst  []byte     // kindEdgeRead: where the caller's bytes go
	from int64      // kindEdgeRead: where they start in the unit
}

// planned is a kernel request planned for the request being placed.
type planned struct {
	kind slotKind
	bio  bio.Bio
	edge bio.Buffer
	dst  []byte
	from int64
}

const (
	maxSegs = 16
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

// testSleepInRing, set only by tests, makes shards sleep in io_uring_enter,
// as they do when the kernel refuses to register the eventfd.
var testSleepInRing bool

func startShard(rt *Runtime, id int) (*shard, error) {
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	s := &shard{rt: rt, id: id, efd: efd, started: make(chan error, 1), exited: make(chan struct{})}
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
	// The ring is bound to this thread (SINGLE_ISSUER, DEFER_TASKRUN).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(s.exited)
	qd := s.rt.cfg.QueueDepth
	r, err := ring.New(ring.Config{Entries: uint32(qd), CQEntries: uint32(2 * qd), SingleIssuer: true, DeferTaskrun: true})
	if err != nil {
		s.started <- err
		return
	}
	s.ring = r
	s.slots = make([]bioSlot, qd-1) // one SQ entry stays for a wake-up poll (armWakeup)
	s.free = make([]int32, len(s.slots))
	for i := range s.free {
		s.free[i] = int32(len(s.free) - 1 - i)
	}
	s.cqes = make([]ring.CQE, 2*qd)
	s.registerFileTable(s.rt.cfg.FixedFiles)
	s.setupWakeup()
	if testRingHook != nil {
		testRingHook(s)
	}
	s.started <- nil
	for {
		progressed := s.pump()
		if s.ring.SQPending() > 0 {
			s.ring.Submit() // EBUSY/EAGAIN: the SQEs stay queued; reap, then again
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
	if !s.parks || s.ring.SQPending() > 0 {
		// In the ring: the fallback, or SQEs the kernel refused (EBUSY)
		// that this enter submits again. Those complete, so a parking
		// shard, which has no eventfd poll in the ring, still wakes.
		s.sleeping.Store(1)
		if s.q.empty() {
			s.ring.SubmitAndWait(1)
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
	for len(s.free) > 0 && s.ring.SQSpace() > 0 {
		r := s.q.pop()
		if r == nil {
			break
		}
		progressed = true
		if !s.place(r) {
			s.deferred = append(s.deferred, r)
			break
		}
	}
	return progressed
}

// place starts r: on the ring, on a worker, or finished at once. It
// returns false when r must wait for free slots.
func (s *shard) place(r *request) bool {
	switch r.op {
	case OpRead:
		return s.placeRead(r)
	case OpWrite:
		return s.placeWrite(r)
	case opFilesUpdate:
		s.placeFilesUpdate(r)
		return true
	}
	return s.placeSync(r)
}

func (s *shard) toWorker(r *request) {
	r.pending, r.eagain, r.failed = 0, false, nil
	s.rt.workers.submit(r)
}

func (s *shard) resetPlan(f *File) {
	s.plan = s.plan[:0]
	s.builder.Reset()
	s.builder.Align = f.ino.align
	s.builder.Pool = s.rt.pool
	s.builder.MaxSegs = maxSegs
}

// releasePlan gives back the buffers of a plan that will not be submitted.
func (s *shard) releasePlan() {
	for i := range s.plan {
		p := &s.plan[i]
		if p.kind == kindEdgeRead {
			s.rt.pool.Put(p.edge)
		} else {
			p.bio.Complete(s.rt.pool, -1)
		}
	}
	s.plan = s.plan[:0]
}

func (s *shard) planBios(kind slotKind) {
	for _, b := range s.builder.Finish() {
		for i := range b.Segs {
			if b.Segs[i].Bounced() {
				s.rt.stats.bounces.Add(1)
			}
		}
		s.plan = append(s.plan, planned{kind: kind, bio: b})
	}
}

// commit turns the plan into SQEs. It returns false, with nothing
// submitted, when the ring or the slot table lacks room for the whole plan.
func (s *shard) commit(r *request) bool {
	if len(s.plan) > len(s.free) || uint32(len(s.plan)) > s.ring.SQSpace() {
		return false
	}
	for i := range s.plan {
		p := &s.plan[i]
		idx := s.free[len(s.free)-1]
		s.free = s.free[:len(s.free)-1]
		sl := &s.slots[idx]
		sl.req, sl.kind, sl.bio, sl.edge, sl.dst, sl.from = r, p.kind, p.bio, p.edge, p.dst, p.from
		n := copy(sl.segs[:], p.bio.Segs)
		sl.bio.Segs = sl.segs[:n]
		sqe := s.ring.NextSQE()
		switch p.kind {
		case kindSync:
			var fl uint32
			if r.op == OpFdatasync {
				fl = ring.FsyncDatasync
			}
			sqe.PrepFsync(p.bio.File, fl)
		case kindEdgeRead:
			sqe.PrepRead(p.bio.File, p.edge.B, uint64(p.bio.Offset), uint32(p.bio.Flags))
		default:
			sl.bio.Prep(sqe, sl.iov[:]) // names the file, by slot or descriptor
		}
		if p.bio.FixedFile && (p.kind == kindSync || p.kind == kindEdgeRead) {
			sqe.UseFixedFile(p.bio.File)
		}
		sqe.UserData = uint64(idx)
		r.pending++
		s.inflight++
	}
	s.plan = s.plan[:0]
	return true
}

// tooBig reports whether a plan could never fit the slot table: such a
// request goes to a worker instead of waiting forever.
func (s *shard) tooBig() bool { return len(s.plan) > len(s.slots)/2 }

func (s *shard) placeRead(r *request) bool {
	f := r.file
	logical, _ := f.ino.sizes()
	if r.off >= logical {
		s.finish(r, 0, nil)
		return true
	}
	n := min(int64(len(r.buf)), logical-r.off)
	r.want = n
	s.resetPlan(f)
	if err := s.planReadRanges(r, n); err != nil || s.tooBig() {
		s.releasePlan()
		s.toWorker(r)
		return true
	}
	if len(s.plan) == 0 { // all known zeros
		s.rt.stats.fastReads.Add(1)
		s.finish(r, int(n), nil)
		return true
	}
	if !s.commit(r) {
		s.releasePlan()
		r.pending = 0
		return false
	}
	return true
}

// planReadRanges plans the reads of [off, off+n): ranges the map knows are
// zeros are cleared in place; the rest become bios.
func (s *shard) planReadRanges(r *request, n int64) error {
	ino := r.file.ino
	s.it.Reset(ino.prov, r.off, n, iomap.Direct)
	run := int64(-1)
	for s.it.Next() {
		pos, seg := s.it.Pos(), s.it.Length()
		if s.it.Map.Flags&iomap.FlagKnownZero != 0 {
			if run >= 0 {
				if err := s.planReadRun(r, run, pos); err != nil {
					return err
				}
				run = -1
			}
			clear(r.buf[pos-r.off : pos-r.off+seg])
			s.rt.stats.zeroFilled.Add(1)
		} else if run < 0 {
			run = pos
		}
		s.it.Advance(seg)
	}
	if err := s.it.Err(); err != nil {
		return err
	}
	if run >= 0 {
		if err := s.planReadRun(r, run, r.off+n); err != nil {
			return err
		}
	}
	s.planBios(kindRead)
	return nil
}

// planReadRun plans a read of [lo, hi): the unaligned edges read whole
// aligned units into pool buffers (copied out at completion), the aligned
// middle goes to the Builder (which bounces unaligned memory).
func (s *shard) planReadRun(r *request, lo, hi int64) error {
	f, ino := r.file, r.file.ino
	a := ino.align.Offset
	fd, fixed := f.ringFile()
	if a <= 1 {
		return s.builder.Add(bio.OpRead, fd, fixed, ino.nowaitFlag(), lo, r.buf[lo-r.off:hi-r.off], bio.NoFixedBuffer, 0, lo-r.off)
	}
	p, err := bio.PlanWrite(lo, hi-lo, func(int64) (int64, bool) { return a, false })
	if err != nil {
		return err
	}
	for _, e := range p.EdgeList() {
		buf, ok := s.rt.pool.Get(int(e.Len))
		if !ok {
			return bio.ErrNoBounce
		}
		dstOff := e.Off + e.DataOff - r.off
		s.plan = append(s.plan, planned{kind: kindEdgeRead,
			bio:  bio.Bio{Op: bio.OpRead, File: fd, FixedFile: fixed, Flags: ino.nowaitFlag(), Offset: e.Off, Len: e.Len, BufIndex: bio.NoFixedBuffer},
			edge: buf, dst: r.buf[dstOff : dstOff+e.DataLen], from: e.DataOff})
		s.rt.stats.bounces.Add(1)
	}
	if p.Mid.Len > 0 {
		return s.builder.Add(bio.OpRead, fd, fixed, ino.nowaitFlag(), p.Mid.Off,
			r.buf[p.Mid.Off-r.off:p.Mid.Off-r.off+p.Mid.Len], bio.NoFixedBuffer, 0, p.Mid.Off-r.off)
	}
	return nil
}

func (s *shard) placeWrite(r *request) bool {
	// The router sent unaligned writes and writes past a device's end
	// elsewhere: what is left depends on the map.
	f, ino := r.file, r.file.ino
	off, n := r.off, int64(len(r.buf))
	stats := &s.rt.stats
	if ino.direct {
		s.it.Reset(ino.prov, off, n, iomap.Write|iomap.Direct|iomap.NoWait)
		for s.it.Next() {
			s.it.Advance(s.it.Length())
		}
		if err := s.it.Err(); err != nil {
			s.countSlowReason(err)
			s.toWorker(r)
			return true
		}
	}
	if !ino.locks.tryShared(off, r.end()) {
		stats.slowLockBusy.Add(1)
		s.toWorker(r)
		return true
	}
	flags := ino.nowaitFlag()
	if r.flg&FlagDSync != 0 {
		flags |= bio.DSync
	}
	s.resetPlan(f)
	fd, fixed := f.ringFile()
	err := s.builder.Add(bio.OpWrite, fd, fixed, flags, off, r.buf, bio.NoFixedBuffer, 0, 0)
	if err == nil {
		s.planBios(kindWrite)
	}
	if err != nil || s.tooBig() {
		s.releasePlan()
		ino.locks.unlock(off, r.end(), false)
		stats.slowOther.Add(1)
		s.toWorker(r)
		return true
	}
	if !s.commit(r) {
		s.releasePlan()
		ino.locks.unlock(off, r.end(), false)
		r.pending = 0
		return false
	}
	r.locked = true
	return true
}

func (s *shard) countSlowReason(err error) {
	st := &s.rt.stats
	switch err {
	case iomap.ErrExtends:
		st.slowExtend.Add(1)
	case iomap.ErrAllocates:
		st.slowAllocate.Add(1)
	case iomap.ErrSubBlock:
		st.slowSubBlock.Add(1)
	default:
		st.slowOther.Add(1)
	}
}

func (s *shard) placeSync(r *request) bool {
	f := r.file
	if err := f.ino.stickySyncErr(); err != nil {
		s.finish(r, 0, err)
		return true
	}
	if r.op == OpFsync {
		if logical, kernel := f.ino.sizes(); kernel > logical {
			s.toWorker(r) // the append-ahead tail must be cut back first
			return true
		}
	}
	fd, fixed := f.ringFile()
	s.plan = append(s.plan[:0], planned{kind: kindSync, bio: bio.Bio{File: fd, FixedFile: fixed}})
	if !s.commit(r) {
		s.plan = s.plan[:0]
		return false
	}
	return true
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

func (s *shard) complete(idx int32, res int32) {
	sl := &s.slots[idx]
	r := sl.req
	if res < 0 {
		switch errno := unix.Errno(-res); {
		case errno == unix.EAGAIN || errno == unix.EINTR:
			r.eagain = true // retried by a worker, never surfaced
		case errno == unix.EOPNOTSUPP && sl.kind != kindSync:
			// RWF_NOWAIT is not supported on this file: retry on a worker,
			// and send later I/O without it.
			r.file.ino.noNowait.Store(true)
			r.eagain = true
		case r.failed == nil:
			r.failed = errno
		}
	}
	switch sl.kind {
	case kindEdgeRead:
		if got := int64(res) - sl.from; got > 0 {
			copy(sl.dst, sl.edge.B[sl.from:sl.from+min(got, int64(len(sl.dst)))])
		}
		if res >= 0 && int64(res) < sl.from+int64(len(sl.dst)) {
			r.eagain = true // short inside the logical size: the worker reads it whole
		}
		s.rt.pool.Put(sl.edge)
	case kindRead, kindWrite:
		sl.bio.Complete(s.rt.pool, int64(res))
		if res >= 0 && int64(res) < sl.bio.Len {
			// Short inside the logical size (reads are clipped to it): the
			// worker does the request whole, and finds any real end of file.
			r.eagain = true
		}
	}
	*sl = bioSlot{}
	s.free = append(s.free, idx)
	s.inflight--
	r.pending--
	if r.pending == 0 {
		s.done(r)
	}
}

// finish delivers a finished request to its context. A sleeping waiter is
// woken once, at the end of the pass (flushWakes), so that it finds every
// completion of the pass rather than the first.
func (s *shard) finish(r *request, n int, err error) {
	s.rt.settle(r, n, err)
	c := r.ctx // once delivered, r belongs to the context's GetEvents
	c.deliver(r)
	if k := len(s.wakes); k == 0 || s.wakes[k-1] != c {
		s.wakes = append(s.wakes, c)
	}
}

func (s *shard) flushWakes() {
	for i, c := range s.wakes {
		c.wake()
		s.wakes[i] = nil
	}
	s.wakes = s.wakes[:0]
}

// done finishes a request whose kernel requests have all completed.
func (s *shard) done(r *request) {
	f, st := r.file, &s.rt.stats
	if r.locked {
		f.ino.locks.unlock(r.off, r.end(), false)
		r.locked = false
	}
	switch {
	case r.failed != nil:
		err := &Error{Op: r.op.String(), Path: f.name, Offset: r.off, Err: r.failed}
		if r.op == OpFsync || r.op == OpFdatasync {
			f.ino.setSyncErr(err)
		}
		s.finish(r, 0, err)
	case r.eagain:
		st.kernelEAGAIN.Add(1)
		s.toWorker(r)
	case r.op == OpRead:
		st.fastReads.Add(1)
		s.finish(r, int(r.want), nil)
	case r.op == OpWrite:
		f.ino.prov.NoteWritten(r.off, int64(len(r.buf)))
		f.ino.prov.NoteLogicalEnd(r.end())
		st.fastWrites.Add(1)
		s.finish(r, len(r.buf), nil)
	default:
		s.finish(r, 0, nil)
	}
}
