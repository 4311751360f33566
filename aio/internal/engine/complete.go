package engine

import (
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/aio/internal/inode"
	"github.com/nowaitio/nowait/aio/internal/req"
	"github.com/nowaitio/nowait/bio"
	"github.com/nowaitio/nowait/ring"
)

// The slot table and completions: every kernel request in flight has a
// slot, and its CQE's user_data is the slot's index. Completions run
// under cqMu.

type slotKind uint8

const (
	kindRead slotKind = iota + 1
	kindWrite
	kindEdgeRead // an aligned unit around an unaligned read edge
	kindSync
)

// bioSlot is one kernel request in flight; its index is the SQE's
// user_data. Owner: the placer fills it and arms it; from then on the
// completer, which disarms it and gives the index back to the free set.
type bioSlot struct {
	armed atomic.Bool // set by the placer after every field (and the request's) is written
	req   *req.Request
	kind  slotKind
	bio   bio.Bio
	edge  bio.Buffer // kindEdgeRead: the unit's buffer
	dst   []byte     // kindEdgeRead: where the caller's bytes go
	from  int64      // kindEdgeRead: where they start in the unit
}

// slotSpec is one row of the slot-kind table: how a kernel request of a
// kind becomes an SQE, and what its completion does. Adding a kind is
// adding its row. The table is immutable.
type slotSpec struct {
	// prep fills the SQE.
	prep func(sl *bioSlot, sqe *ring.SQE)
	// settle gives the slot's buffers back and copies out what a read
	// brought (res < 0: an error, nothing to copy); it reports whether
	// the result was short of what the slot asked for.
	settle func(x *Ring, sl *bioSlot, res int32) (short bool)
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
}

func prepSync(sl *bioSlot, sqe *ring.SQE) {
	var fl uint32
	if sl.req.Op == req.OpFdatasync {
		fl = ring.FsyncDatasync
	}
	sqe.PrepFsync(sl.bio.File, fl)
}

func settleBio(x *Ring, sl *bioSlot, res int32) bool {
	assertNil(sl.bio.Complete(x.env.Pool, int64(res)), "a bio's bounce buffers at completion")
	return res >= 0 && int64(res) < sl.bio.Len
}

// settleEdgeRead copies the request's bytes out of the unit it read.
func settleEdgeRead(x *Ring, sl *bioSlot, res int32) bool {
	if got := int64(res) - sl.from; got > 0 {
		copy(sl.dst, sl.edge.B[sl.from:sl.from+min(got, int64(len(sl.dst)))])
	}
	assertNil(x.env.Pool.Put(sl.edge), "an edge buffer after its read")
	return res >= 0 && int64(res) < sl.from+int64(len(sl.dst))
}

func settleNothing(*Ring, *bioSlot, int32) bool { return false }

// planned is a kernel request planned for the request being placed.
// Owner: the placer.
type planned struct {
	kind slotKind
	bio  bio.Bio
	edge bio.Buffer
	dst  []byte
	from int64
}

// complete handles the CQE of slot idx. cqMu is held.
func (x *Ring) complete(idx int32, res int32) {
	sl := &x.slots[idx]
	if !sl.armed.Load() {
		assertNil(errUnarmed, "a CQE for a slot not in flight")
		return
	}
	r := sl.req
	if res < 0 {
		switch errno := unix.Errno(-res); {
		case errno == unix.EAGAIN || errno == unix.EINTR:
			r.EAgain = true // retried by a worker, never surfaced
		case errno == unix.EOPNOTSUPP && slotKinds[sl.kind].data:
			// RWF_NOWAIT is not supported on this file: retry on a worker,
			// and send later I/O without it.
			r.Ino.NoNowait.Store(true)
			r.EAgain = true
		case r.Failed == nil:
			r.Failed = errno
		}
	}
	if short := slotKinds[sl.kind].settle(x, sl, res); short {
		// Short inside the logical size (reads are clipped to it): the
		// worker does the request whole, and finds any real end of file.
		r.EAgain = true
	}
	x.release(idx)
	if r.Pending--; r.Pending == 0 {
		x.done(r)
	}
}

// release empties slot idx and gives it back to the placer.
func (x *Ring) release(idx int32) {
	sl := &x.slots[idx]
	sl.armed.Store(false)
	sl.req, sl.bio, sl.edge, sl.dst = nil, bio.Bio{}, bio.Buffer{}, nil
	x.inflight.Add(-1)
	x.free.Put(idx)
}

// takeBack ends a kernel request the kernel never took (Unsubmit): its
// buffers go back, and its request goes to a worker once none of its
// kernel requests is left. Both sides are held.
func (x *Ring) takeBack(idx int32) {
	sl := &x.slots[idx]
	r := sl.req
	slotKinds[sl.kind].settle(x, sl, -int32(unix.ECANCELED)) // buffers back, nothing copied
	x.release(idx)
	r.Refused = true
	if r.Pending--; r.Pending == 0 {
		x.done(r)
	}
}

// finish delivers a finished request to its sink. A sleeping owner is
// woken once, at the end of the pass (flushWakes), so that it finds every
// completion of the pass rather than the first.
func (x *Ring) finish(r *req.Request, n int, err error) {
	req.Settle(r, n, err)
	s := r.Sink // once delivered, r belongs to its sink
	s.Deliver(r)
	if k := len(x.wakes); k == 0 || x.wakes[k-1] != s {
		x.wakes = append(x.wakes, s)
	}
}

func (x *Ring) flushWakes() {
	for i, s := range x.wakes {
		s.Wake()
		x.wakes[i] = nil
	}
	x.woke += len(x.wakes)
	x.wakes = x.wakes[:0]
}

// done finishes a request whose kernel requests have all completed.
func (x *Ring) done(r *req.Request) {
	ino, st := r.Ino, x.env.Stats
	if r.Locked {
		ino.Locks.UnlockShared(r.Off, r.End())
		r.Locked = false
	}
	switch {
	case r.Failed != nil:
		err := &inode.Error{Op: r.Op.String(), Path: r.Name, Offset: r.Off, Err: r.Failed}
		if r.Op.IsSync() {
			ino.SetSyncErr(err)
		}
		x.finish(r, 0, err)
	case r.Refused:
		st.RingRefused.Add(1)
		x.toWorker(r)
	case r.EAgain:
		st.KernelEAGAIN.Add(1)
		x.toWorker(r)
	case r.Op == req.OpRead:
		st.FastReads.Add(1)
		x.finish(r, int(r.Want), nil)
	case r.Op == req.OpWrite:
		// The map learns of the write before the write is delivered: a
		// read submitted after it sees what it wrote.
		ino.Prov.NoteWritten(r.Off, int64(len(r.Buf)))
		ino.Prov.NoteLogicalEnd(r.End())
		st.FastWrites.Add(1)
		x.finish(r, len(r.Buf), nil)
	default:
		x.finish(r, 0, nil)
	}
}

// reapLocked completes every CQE the ring has and returns how many it
// took. cqMu is held.
func (x *Ring) reapLocked() int {
	total, wakes := 0, 0
	for {
		n := x.k.Reap(x.cqes)
		for i := range n {
			if ud := x.cqes[i].UserData; ud != wakeTag {
				x.complete(int32(ud), x.cqes[i].Res)
			} else {
				wakes++
			}
		}
		total += n
		if n < len(x.cqes) {
			break
		}
	}
	x.flushWakes()
	if wakes > 0 && x.waiting.Load() > 0 {
		// The wake-up just reaped may be the one a waiter about to enter
		// the kernel counts on: io_uring_enter waits for a CQE past the
		// head it reads on entry, so a wake reaped before then is lost to
		// it. Whoever reaps is not waiting, so it passes the wake on.
		x.postWake()
	}
	return total
}
