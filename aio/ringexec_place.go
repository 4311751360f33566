package aio

import (
	"github.com/nowaitio/nowait/bio"
	"github.com/nowaitio/nowait/iomap"
)

// Placing a request on the ring: the executor maps it and plans its kernel
// requests (bios), or hands it to a worker. Runs on the ring's driver.

func (s *ringExec) toWorker(r *request) {
	r.pending, r.eagain, r.refused, r.failed = 0, false, false, nil
	s.rt.workers.submit(r)
}

func (s *ringExec) resetPlan(f *File) {
	s.plan = s.plan[:0]
	s.builder.Reset()
	s.builder.Align = f.ino.align
	s.builder.Pool = s.rt.pool
}

// releasePlan gives back the buffers of a plan that will not be submitted.
func (s *ringExec) releasePlan() {
	for i := range s.plan {
		p := &s.plan[i]
		if p.kind == kindEdgeRead {
			assertNil(s.rt.pool.Put(p.edge), "an edge buffer of a plan not submitted")
		} else {
			assertNil(p.bio.Complete(s.rt.pool, -1), "the bounce buffers of a plan not submitted")
		}
	}
	s.plan = s.plan[:0]
}

func (s *ringExec) planBios(kind slotKind) {
	for _, b := range s.builder.Bios() {
		if b.Seg.Bounced() {
			s.rt.stats.bounces.Add(1)
		}
		s.plan = append(s.plan, planned{kind: kind, bio: b})
	}
}

// commit turns the plan into SQEs. It returns false, with nothing
// submitted, when the ring or the slot table lacks room for the whole plan.
func (s *ringExec) commit(r *request) bool {
	if len(s.plan) > len(s.free) || uint32(len(s.plan)) > s.ring.SQSpace() {
		return false
	}
	for i := range s.plan {
		p := &s.plan[i]
		idx := s.free[len(s.free)-1]
		s.free = s.free[:len(s.free)-1]
		sl := &s.slots[idx]
		sl.req, sl.kind, sl.bio, sl.edge, sl.dst, sl.from = r, p.kind, p.bio, p.edge, p.dst, p.from
		sqe := s.ring.NextSQE()
		slotKinds[p.kind].prep(sl, sqe)
		sqe.UserData = uint64(idx)
		r.pending++
		s.inflight++
	}
	s.plan = s.plan[:0]
	return true
}

// tooBig reports whether a plan could never fit the slot table: such a
// request goes to a worker instead of waiting forever.
func (s *ringExec) tooBig() bool { return len(s.plan) > len(s.slots)/2 }

func (s *ringExec) placeRead(r *request) bool {
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
func (s *ringExec) planReadRanges(r *request, n int64) error {
	ino := r.file.ino
	s.it.Reset(ino.prov, r.off, n, iomap.Direct)
	run := int64(-1)
	for s.it.Next() {
		pos, seg := s.it.Pos(), s.it.Length()
		if readsAsZeros(s.it.Map) {
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

// readsAsZeros is the read body's switch on the mapping's type, as the
// kernel's direct-I/O loop switches on it: storage that reads as zeros
// and that the runtime knows of (a hole or unwritten extent it made, or
// past the logical size: FlagKnownZero) is cleared in place, with no I/O;
// data (mapped, delayed, inline) and zeros the runtime only heard of from
// FIEMAP are read from the kernel, which is the authority on them.
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
func (s *ringExec) planReadRun(r *request, lo, hi int64) error {
	f, ino := r.file, r.file.ino
	a := ino.align.Offset
	fd, fixed := s.fileOf(f)
	if a <= 1 {
		return s.builder.Add(bio.OpRead, fd, fixed, ino.nowaitFlag(), lo, r.buf[lo-r.off:hi-r.off], bio.NoFixedBuffer, lo-r.off)
	}
	p, err := bio.PlanRead(lo, hi-lo, a)
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
			r.buf[p.Mid.Off-r.off:p.Mid.Off-r.off+p.Mid.Len], bio.NoFixedBuffer, p.Mid.Off-r.off)
	}
	return nil
}

func (s *ringExec) placeWrite(r *request) bool {
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
	ino.raiseDataEnd(r.end()) // before the write can land (inode.dataEnd)
	flags := ino.nowaitFlag()
	if r.flg&FlagDSync != 0 {
		flags |= bio.DSync
	}
	s.resetPlan(f)
	fd, fixed := s.fileOf(f)
	err := s.builder.Add(bio.OpWrite, fd, fixed, flags, off, r.buf, bio.NoFixedBuffer, 0)
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

func (s *ringExec) countSlowReason(err error) {
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

func (s *ringExec) placeSync(r *request) bool {
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
	fd, fixed := s.fileOf(f)
	s.plan = append(s.plan[:0], planned{kind: kindSync, bio: bio.Bio{File: fd, FixedFile: fixed}})
	if !s.commit(r) {
		s.plan = s.plan[:0]
		return false
	}
	return true
}
