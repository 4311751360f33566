package engine

import (
	"github.com/nowaitio/nowait/aio/internal/req"
	"github.com/nowaitio/nowait/bio"
	"github.com/nowaitio/nowait/iomap"
)

// place maps r and places its kernel requests (bios) on the ring, hands
// it to a worker, or finishes it; false, with nothing done, when the ring
// lacks room for it now. sqMu is held.
func (x *Ring) place(r *req.Request) bool {
	if x.broken.Load() {
		x.env.Stats.RingRefused.Add(1)
		x.toWorker(r)
		return true
	}
	switch r.Op {
	case req.OpRead:
		return x.placeRead(r)
	case req.OpWrite:
		return x.placeWrite(r)
	}
	return x.placeSync(r)
}

// Queue queues r for the ring's driver, waking no one (Submit's way).
func (x *Ring) Queue(r *req.Request) {
	x.deferred.Push(&r.Node)
	x.deferredN.Add(1)
}

// KickIfFirst wakes a driver waiting in the kernel when the queue held
// nothing else: one caller's read must not wait for another's fsync.
func (x *Ring) KickIfFirst() {
	if x.deferredN.Load() == 1 {
		x.Kick()
	}
}

// Defer queues r for the ring's driver and wakes whoever can place it: r's
// owner, a driver in the kernel, the helper. It never waits.
func (x *Ring) Defer(r *req.Request) {
	s := r.Sink // once pushed, r may be placed, done and delivered
	x.Queue(r)
	s.Wake()
	x.Kick()
	help.note()
}

// placeDeferred places the queued requests while there is room, and
// reports false when it stopped for lack of room. sqMu is held.
func (x *Ring) placeDeferred() bool {
	for x.deferredN.Load() > 0 {
		n := x.deferred.Pop()
		if n == nil {
			return true // a push is half done: the driver looks again
		}
		r := n.Owner.(*req.Request)
		if !x.place(r) { // no room until a completion frees some
			x.deferred.Push(&r.Node)
			return false
		}
		x.deferredN.Add(-1)
	}
	return true
}

func (x *Ring) toWorker(r *req.Request) {
	r.Pending, r.EAgain, r.Refused, r.Failed = 0, false, false, nil
	x.env.ToWorker(r)
}

func (x *Ring) resetPlan(r *req.Request) {
	x.plan = x.plan[:0]
	x.builder.Reset()
	x.builder.Align = r.Ino.Align
	x.builder.Pool = x.env.Pool
}

// releasePlan gives back the buffers of a plan that will not be submitted.
func (x *Ring) releasePlan() {
	for i := range x.plan {
		p := &x.plan[i]
		assertNil(p.bio.Complete(x.env.Pool, -1), "the bounce buffers of a plan not submitted")
	}
	x.plan = x.plan[:0]
}

func (x *Ring) planBios() {
	for _, b := range x.builder.Bios() {
		if b.Seg.Bounced() {
			x.env.Stats.Bounces.Add(1)
		}
		x.plan = append(x.plan, planned{bio: b})
	}
}

// commit turns the plan into SQEs; false, with nothing placed, without
// room for all of it. r is written before any slot is armed: the
// completer reads it only through an armed slot.
func (x *Ring) commit(r *req.Request) bool {
	if len(x.plan) > x.free.Free() || uint32(len(x.plan)) > x.k.SQSpace() {
		return false
	}
	r.Pending = int32(len(x.plan))
	x.inflight.Add(int64(len(x.plan)))
	for i := range x.plan {
		p := &x.plan[i]
		idx, _ := x.free.Take() // the placer alone takes: Free said there is room
		sl := &x.slots[idx]
		sl.req, sl.sync, sl.bio = r, p.sync, p.bio
		sqe := x.k.NextSQE()
		sl.prep(sqe)
		sqe.UserData = uint64(idx)
		sl.armed.Store(true)
	}
	x.plan = x.plan[:0]
	return true
}

// tooBig reports whether a plan could never fit the slot table: such a
// request goes to a worker instead of waiting forever.
func (x *Ring) tooBig() bool { return len(x.plan) > len(x.slots)/2 }

func (x *Ring) placeRead(r *req.Request) bool {
	logical, _ := r.Ino.Sizes()
	if r.Off >= logical {
		req.Finish(r, 0, nil)
		return true
	}
	n := min(int64(len(r.Buf)), logical-r.Off)
	r.Want = n
	x.resetPlan(r)
	if err := x.planReadRanges(r, n); err != nil || x.tooBig() {
		x.releasePlan()
		x.toWorker(r)
		return true
	}
	if len(x.plan) == 0 { // all known zeros
		x.env.Stats.FastReads.Add(1)
		req.Finish(r, int(n), nil)
		return true
	}
	if !x.commit(r) {
		x.releasePlan()
		return false
	}
	x.env.Stats.CallerDriven.Add(1)
	return true
}

// planReadRanges plans the reads of [off, off+n): ranges the map knows are
// zeros are cleared in place; the rest become bios.
func (x *Ring) planReadRanges(r *req.Request, n int64) error {
	ino := r.Ino
	x.it.Reset(ino.Prov, r.Off, n, iomap.Direct)
	run := int64(-1)
	for x.it.Next() {
		pos, seg := x.it.Pos(), x.it.Length()
		if readsAsZeros(x.it.Map) {
			if run >= 0 {
				if err := x.planReadRun(r, run, pos); err != nil {
					return err
				}
				run = -1
			}
			clear(r.Buf[pos-r.Off : pos-r.Off+seg])
			x.env.Stats.ZeroFilled.Add(1)
		} else if run < 0 {
			run = pos
		}
		x.it.Advance(seg)
	}
	if err := x.it.Err(); err != nil {
		return err
	}
	if run >= 0 {
		if err := x.planReadRun(r, run, r.Off+n); err != nil {
			return err
		}
	}
	x.planBios()
	return nil
}

// readsAsZeros: zeros the runtime knows of (FlagKnownZero: a hole or
// unwritten extent it made, past the logical size) are cleared in place;
// data, and zeros only FIEMAP spoke of, are read from the kernel.
func readsAsZeros(m iomap.Iomap) bool {
	switch m.Type {
	case iomap.TypeHole, iomap.TypeUnwritten:
		return m.Flags&iomap.FlagKnownZero != 0
	}
	return false
}

// planReadRun plans a read of [lo, hi): the unaligned edges read whole
// aligned units into pool buffers (copied out at completion), the aligned
// middle goes to the Builder (which bounces unaligned memory).
func (x *Ring) planReadRun(r *req.Request, lo, hi int64) error {
	ino := r.Ino
	a := ino.Align.Offset
	fd := int32(ino.Fd)
	if a <= 1 {
		return x.builder.Add(bio.OpRead, fd, false, ino.NowaitFlag(), lo, r.Buf[lo-r.Off:hi-r.Off], bio.NoFixedBuffer, lo-r.Off)
	}
	p, err := bio.PlanRead(lo, hi-lo, a)
	if err != nil {
		return err
	}
	for _, e := range p.EdgeList() {
		buf, ok := x.env.Pool.Get(int(e.Len))
		if !ok {
			return bio.ErrNoBounce
		}
		dstOff := e.Off + e.DataOff - r.Off
		x.plan = append(x.plan, planned{bio: bio.EdgeRead(fd, ino.NowaitFlag(), e.Off, buf, r.Buf[dstOff:dstOff+e.DataLen], e.DataOff)})
		x.env.Stats.Bounces.Add(1)
	}
	if p.Mid.Len > 0 {
		return x.builder.Add(bio.OpRead, fd, false, ino.NowaitFlag(), p.Mid.Off,
			r.Buf[p.Mid.Off-r.Off:p.Mid.Off-r.Off+p.Mid.Len], bio.NoFixedBuffer, p.Mid.Off-r.Off)
	}
	return nil
}

// placeWrite places an aligned write (the router sent the rest elsewhere)
// where the map shows the kernel will not block.
func (x *Ring) placeWrite(r *req.Request) bool {
	ino := r.Ino
	off, n := r.Off, int64(len(r.Buf))
	st := x.env.Stats
	if ino.Direct {
		x.it.Reset(ino.Prov, off, n, iomap.Write|iomap.Direct|iomap.NoWait)
		for x.it.Next() {
			x.it.Advance(x.it.Length())
		}
		if err := x.it.Err(); err != nil {
			x.countSlowReason(err)
			x.toWorker(r)
			return true
		}
	}
	if !ino.Locks.TryShared(off, r.End()) {
		st.SlowLockBusy.Add(1)
		x.toWorker(r)
		return true
	}
	ino.RaiseDataEnd(r.End()) // before the write can land (inode's dataEnd)
	flags := ino.NowaitFlag()
	if r.Flags&req.FlagDSync != 0 {
		flags |= bio.DSync
	}
	x.resetPlan(r)
	err := x.builder.Add(bio.OpWrite, int32(ino.Fd), false, flags, off, r.Buf, bio.NoFixedBuffer, 0)
	if err == nil {
		x.planBios()
	}
	ok := err == nil && !x.tooBig()
	r.Locked = ok // before commit arms a slot: the completer reads it
	if ok && x.commit(r) {
		st.CallerDriven.Add(1)
		return true
	}
	x.releasePlan()
	r.Locked = false
	ino.Locks.UnlockShared(off, r.End())
	if ok {
		return false // no room now: it stays queued
	}
	st.SlowOther.Add(1)
	x.toWorker(r)
	return true
}

func (x *Ring) countSlowReason(err error) {
	st := x.env.Stats
	switch err {
	case iomap.ErrExtends:
		st.SlowExtend.Add(1)
	case iomap.ErrAllocates:
		st.SlowAllocate.Add(1)
	case iomap.ErrSubBlock:
		st.SlowSubBlock.Add(1)
	default:
		st.SlowOther.Add(1)
	}
}

func (x *Ring) placeSync(r *req.Request) bool {
	if err := r.Ino.StickySyncErr(); err != nil {
		req.Finish(r, 0, err)
		return true
	}
	if r.Op == req.OpFsync {
		if logical, kernel := r.Ino.Sizes(); kernel > logical {
			x.toWorker(r) // the append-ahead tail must be cut back first
			return true
		}
	}
	x.plan = append(x.plan[:0], planned{sync: true, bio: bio.Bio{File: int32(r.Ino.Fd)}})
	if !x.commit(r) {
		x.plan = x.plan[:0]
		return false
	}
	x.env.Stats.CallerDriven.Add(1)
	return true
}
