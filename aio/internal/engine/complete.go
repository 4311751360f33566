package engine

import (
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/aio/internal/inode"
	"github.com/nowaitio/nowait/aio/internal/req"
	"github.com/nowaitio/nowait/bio"
	"github.com/nowaitio/nowait/ring"
)

// bioSlot is one kernel request in flight; its index is the SQE's
// user_data. Owner: the placer, until it arms it; then the completer.
type bioSlot struct {
	armed atomic.Bool // set by the placer after every field (and the request's) is written
	req   *req.Request
	sync  bool // an fsync or fdatasync of bio.File; else a read or write of file data
	bio   bio.Bio
}

// prep fills the SQE of the slot's kernel request.
func (sl *bioSlot) prep(sqe *ring.SQE) {
	if !sl.sync {
		sl.bio.Prep(sqe)
		return
	}
	var fl uint32
	if sl.req.Op == req.OpFdatasync {
		fl = ring.FsyncDatasync
	}
	sqe.PrepFsync(sl.bio.File, fl)
}

// settle gives the slot's buffers back, copies out what a read brought,
// and reports whether the result was short.
func (sl *bioSlot) settle(x *Ring, res int32) bool {
	if sl.sync {
		return false
	}
	short := res >= 0 && sl.bio.Short(int64(res)) // before Complete, which forgets the edge's user bytes
	assertNil(sl.bio.Complete(x.env.Pool, int64(res)), "a bio's bounce buffers at completion")
	return short
}

// planned is a kernel request planned for the request being placed.
type planned struct {
	sync bool
	bio  bio.Bio
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
		case errno == unix.EOPNOTSUPP && !sl.sync: // a data read or write
			// No RWF_NOWAIT on this file: a worker retries, later I/O goes without.
			r.Ino.NoNowait.Store(true)
			r.EAgain = true
		case r.Failed == nil:
			r.Failed = errno
		}
	}
	if short := sl.settle(x, res); short {
		// Short inside the logical size: a worker redoes it whole.
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
	sl.req, sl.bio = nil, bio.Bio{}
	x.inflight.Add(-1)
	x.free.Put(idx)
}

// takeBack ends a kernel request the kernel never took (Unsubmit); its
// request goes to a worker. Both sides are held.
func (x *Ring) takeBack(idx int32) {
	sl := &x.slots[idx]
	r := sl.req
	sl.settle(x, -int32(unix.ECANCELED)) // buffers back, nothing copied
	x.release(idx)
	r.Refused = true
	if r.Pending--; r.Pending == 0 {
		x.done(r)
	}
}

// finish delivers a finished request to its sink, whom flushWakes wakes
// once at the end of the pass.
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
	wrote := r.Op == req.OpWrite && r.Failed == nil && !r.Refused && !r.EAgain
	if wrote {
		// The map learns of it before it is delivered (a later read sees
		// it) and before its lock is dropped: a worker's read-modify-write
		// of a unit a padded write filled must not take that unit for the
		// zeros the map knew there.
		ino.Prov.NoteWritten(r.Off, r.WriteEnd()-r.Off)
		ino.Prov.NoteLogicalEnd(r.End())
	}
	if r.Locked {
		ino.Locks.UnlockShared(r.Off, r.WriteEnd())
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
	case wrote:
		st.FastWrites.Add(1)
		if r.PadEnd > 0 {
			st.PaddedWrites.Add(1)
		}
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
		// A waiter about to enter the kernel may count on the wake just
		// reaped (io_uring_enter waits for a CQE past the head it reads on
		// entry): whoever reaps is not waiting, so it passes it on.
		x.postWake()
	}
	return total
}
