package aio

import (
	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/bio"
	"github.com/nowaitio/nowait/ring"
)

// The ring executor's slot table and completions: every kernel request
// in flight has a slot, and its CQE's user_data is the slot's index. Runs
// on the ring's driver.

type slotKind uint8

const (
	kindRead slotKind = iota + 1
	kindWrite
	kindEdgeRead // an aligned unit around an unaligned read edge
	kindSync
)

// bioSlot is one kernel request in flight; its index is the SQE's
// user_data. Owner: the ring's driver.
type bioSlot struct {
	req  *request
	kind slotKind
	bio  bio.Bio
	edge bio.Buffer // kindEdgeRead: the unit's buffer
	dst  []byte     // kindEdgeRead: where the caller's bytes go
	from int64      // kindEdgeRead: where they start in the unit
}

// slotSpec is one row of the slot-kind table: how a kernel request of a
// kind becomes an SQE, and what its completion does. Adding a kind is
// adding its row. The table is immutable.
type slotSpec struct {
	// prep fills the SQE (the file named by fixed slot or descriptor).
	prep func(sl *bioSlot, sqe *ring.SQE)
	// settle gives the slot's buffers back and copies out what a read
	// brought (res < 0: an error, nothing to copy); it reports whether
	// the result was short of what the slot asked for.
	settle func(x *ringExec, sl *bioSlot, res int32) (short bool)
	// data: the kind moves file data, so EOPNOTSUPP means the file takes
	// no RWF_NOWAIT (a sync's EOPNOTSUPP is its own error).
	data bool
}

var slotKinds = [...]slotSpec{
	kindRead:     {prep: prepBio, settle: settleBio, data: true},
	kindWrite:    {prep: prepBio, settle: settleBio, data: true},
	kindEdgeRead: {prep: prepEdgeRead, settle: settleEdgeRead, data: true},
	kindSync:     {prep: prepSync, settle: settleNothing},
}

func prepBio(sl *bioSlot, sqe *ring.SQE) { sl.bio.Prep(sqe) }

func prepEdgeRead(sl *bioSlot, sqe *ring.SQE) {
	sqe.PrepRead(sl.bio.File, sl.edge.B, uint64(sl.bio.Offset), uint32(sl.bio.Flags))
	if sl.bio.FixedFile {
		sqe.UseFixedFile(sl.bio.File)
	}
}

func prepSync(sl *bioSlot, sqe *ring.SQE) {
	var fl uint32
	if sl.req.op == OpFdatasync {
		fl = ring.FsyncDatasync
	}
	sqe.PrepFsync(sl.bio.File, fl)
	if sl.bio.FixedFile {
		sqe.UseFixedFile(sl.bio.File)
	}
}

func settleBio(x *ringExec, sl *bioSlot, res int32) bool {
	assertNil(sl.bio.Complete(x.rt.pool, int64(res)), "a bio's bounce buffers at completion")
	return res >= 0 && int64(res) < sl.bio.Len
}

// settleEdgeRead copies the request's bytes out of the unit it read.
func settleEdgeRead(x *ringExec, sl *bioSlot, res int32) bool {
	if got := int64(res) - sl.from; got > 0 {
		copy(sl.dst, sl.edge.B[sl.from:sl.from+min(got, int64(len(sl.dst)))])
	}
	assertNil(x.rt.pool.Put(sl.edge), "an edge buffer after its read")
	return res >= 0 && int64(res) < sl.from+int64(len(sl.dst))
}

func settleNothing(*ringExec, *bioSlot, int32) bool { return false }

// planned is a kernel request planned for the request being placed.
// Owner: the ring's driver.
type planned struct {
	kind slotKind
	bio  bio.Bio
	edge bio.Buffer
	dst  []byte
	from int64
}

func (s *ringExec) complete(idx int32, res int32) {
	sl := &s.slots[idx]
	r := sl.req
	if res < 0 {
		switch errno := unix.Errno(-res); {
		case errno == unix.EAGAIN || errno == unix.EINTR:
			r.eagain = true // retried by a worker, never surfaced
		case errno == unix.EOPNOTSUPP && slotKinds[sl.kind].data:
			// RWF_NOWAIT is not supported on this file: retry on a worker,
			// and send later I/O without it.
			r.file.ino.noNowait.Store(true)
			r.eagain = true
		case r.failed == nil:
			r.failed = errno
		}
	}
	if short := slotKinds[sl.kind].settle(s, sl, res); short {
		// Short inside the logical size (reads are clipped to it): the
		// worker does the request whole, and finds any real end of file.
		r.eagain = true
	}
	*sl = bioSlot{}
	s.free = append(s.free, idx)
	s.inflight--
	r.pending--
	if r.pending == 0 {
		s.done(r)
	}
}

// takeBack ends a kernel request the kernel never took (Unsubmit): its
// buffers go back, and its request goes to a worker once none of its
// kernel requests is left.
func (s *ringExec) takeBack(idx int32) {
	sl := &s.slots[idx]
	r := sl.req
	slotKinds[sl.kind].settle(s, sl, -int32(unix.ECANCELED)) // buffers back, nothing copied
	*sl = bioSlot{}
	s.free = append(s.free, idx)
	s.inflight--
	r.refused = true
	if r.pending--; r.pending == 0 {
		s.done(r)
	}
}

// finish delivers a finished request to its context. A sleeping waiter is
// woken once, at the end of the pass (flushWakes), so that it finds every
// completion of the pass rather than the first.
func (s *ringExec) finish(r *request, n int, err error) {
	s.rt.settle(r, n, err)
	c := r.ctx // once delivered, r belongs to the context's GetEvents
	c.deliver(r)
	if k := len(s.wakes); k == 0 || s.wakes[k-1] != c {
		s.wakes = append(s.wakes, c)
	}
}

func (s *ringExec) flushWakes() {
	for i, c := range s.wakes {
		c.wake()
		s.wakes[i] = nil
	}
	s.wakes = s.wakes[:0]
}

// done finishes a request whose kernel requests have all completed.
func (s *ringExec) done(r *request) {
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
	case r.refused:
		st.ringRefused.Add(1)
		s.toWorker(r)
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
