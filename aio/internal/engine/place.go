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
	r.Pending, r.EAgain, r.Refused, r.Failed, r.PadEnd = 0, false, false, nil, 0
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

// placeWrite places a write from an aligned offset (the router sent the
// rest elsewhere) where the map shows the kernel will not block. A write
// whose end is not aligned goes with its last unit padded with zeros when
// no data lies past its end, else to a worker.
func (x *Ring) placeWrite(r *req.Request) bool {
	ino := r.Ino
	off, end := r.Off, r.End()
	st := x.env.Stats
	if a := ino.Align.Offset; a > 1 && end%a != 0 {
		if !x.padTail(r) {
			st.SlowUnaligned.Add(1)
			x.toWorker(r)
			return true
		}
	}
	wend := r.WriteEnd()
	if err := x.mapWrite(r); err != nil {
		x.countSlowReason(err)
		x.toWorker(r)
		return true
	}
	if !ino.Locks.TryShared(off, wend) {
		st.SlowLockBusy.Add(1)
		x.toWorker(r)
		return true
	}
	// Raised before the write can land (inode's dataEnd); a padded write
	// needs it at or below its end: its zeros must land on no data.
	if dataEnd := ino.RaiseDataEnd(end); r.PadEnd > 0 && dataEnd > end {
		ino.Locks.UnlockShared(off, wend)
		st.SlowUnaligned.Add(1)
		x.toWorker(r)
		return true
	}
	flags := ino.NowaitFlag()
	if r.Flags&req.FlagDSync != 0 {
		flags |= bio.DSync
	}
	x.resetPlan(r)
	err := x.planWrite(r, flags)
	ok := err == nil && !x.tooBig()
	r.Locked = ok // before commit arms a slot: the completer reads it
	if ok && x.commit(r) {
		st.CallerDriven.Add(1)
		return true
	}
	x.releasePlan()
	r.Locked = false
	ino.Locks.UnlockShared(off, wend)
	if ok {
		return false // no room now: it stays queued
	}
	st.SlowOther.Add(1)
	x.toWorker(r)
	return true
}

// padTail sets r.PadEnd (and x.tailAt) if r can go padded: its last unit
// (the map's: the direct-I/O alignment in written storage, the
// filesystem block elsewhere) lies inside r's range from r.Off on.
func (x *Ring) padTail(r *req.Request) bool {
	ino, end := r.Ino, r.End()
	if !ino.Direct || ino.PastLastUnit(end) {
		return false
	}
	unit, _, err := ino.UnitAt(end)
	if err != nil || end/unit*unit < r.Off {
		return false
	}
	x.tailAt = end / unit * unit
	r.PadEnd = x.tailAt + unit
	return true
}

// mapWrite checks that the kernel can write [r.Off, r.WriteEnd()) without
// blocking, and finds the block boundaries (x.cuts) where it goes from
// written to unwritten storage or back: ext4 refuses RWF_NOWAIT to a
// write that spans both, so each side goes as its own kernel request.
func (x *Ring) mapWrite(r *req.Request) error {
	ino := r.Ino
	x.cuts = x.cuts[:0]
	if !ino.Direct {
		return nil
	}
	x.it.Reset(ino.Prov, r.Off, r.WriteEnd()-r.Off, iomap.Write|iomap.Direct|iomap.NoWait)
	first, wasWritten := true, false
	for x.it.Next() {
		written := x.it.Map.Type != iomap.TypeUnwritten
		if pos := x.it.Pos(); !first && written != wasWritten && pos%ino.Block == 0 {
			x.cuts = append(x.cuts, pos)
		}
		first, wasWritten = false, written
		x.it.Advance(x.it.Length())
	}
	return x.it.Err()
}

// planWrite plans r's kernel writes, one run between cuts at a time.
func (x *Ring) planWrite(r *req.Request, flags bio.Flags) error {
	lo := r.Off
	for i := 0; i <= len(x.cuts); i++ {
		hi := r.WriteEnd()
		if i < len(x.cuts) {
			hi = x.cuts[i]
		}
		if err := x.planWriteRun(r, flags, lo, hi); err != nil {
			return err
		}
		lo = hi
	}
	return nil
}

// planWriteRun plans the writes of [lo, hi), a run of r: from the
// caller's memory (bounced where it is not aligned), and the last unit of
// a padded write from a zero-padded copy; a padded run of up to
// padCopyMax goes whole as one copy, a single kernel request.
func (x *Ring) planWriteRun(r *req.Request, flags bio.Flags, lo, hi int64) error {
	fd := int32(r.Ino.Fd)
	from := hi // where the padded copy starts
	if hi > r.End() {
		from = lo
		if hi-lo > padCopyMax {
			from = max(lo, x.tailAt) // a cut never falls inside the last unit: tailAt
		}
	}
	if from > lo {
		if err := x.builder.Add(bio.OpWrite, fd, false, flags, lo, r.Buf[lo-r.Off:from-r.Off], bio.NoFixedBuffer, lo-r.Off); err != nil {
			return err
		}
		x.planBios()
		x.builder.Reset()
	}
	if from == hi {
		return nil
	}
	buf, ok := x.env.Pool.Get(int(hi - from))
	if !ok {
		return bio.ErrNoBounce
	}
	x.plan = append(x.plan, planned{bio: bio.PaddedWrite(fd, flags, from, buf, r.Buf[from-r.Off:])})
	x.env.Stats.Bounces.Add(1)
	return nil
}

// padCopyMax: a padded write up to this size is copied whole into one
// buffer (one kernel request, as a WAL group is); a longer one writes its
// whole units from the caller's memory and copies only the last.
const padCopyMax = 64 << 10

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
