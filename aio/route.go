package aio

import "golang.org/x/sys/unix"

// executor runs the requests routed to it. The shards (the ring, with
// RWF_NOWAIT) and the workers (blocking calls) are the two; a request
// whose executor cannot finish it (a kernel EAGAIN, a write the map says
// would block) goes from the ring to the workers, never back.
type executor interface {
	submit(r *request)
}

// path is where the router sends a request.
type path uint8

const (
	pathDone path = iota // finished on the spot: its result is set
	pathFast             // the context's ring executor
	pathSlow             // a worker
)

// route decides what can be decided on the submitting goroutine, from
// what is fixed at Open (alignment, a device's end, the backend) and what
// is cheap to read (the sizes for a sync, the sticky sync error); the ring
// executor decides the rest from the map. No hop is spent on a request
// whose path is already known.
func (rt *Runtime) route(r *request) path {
	ino := r.file.ino
	switch r.op {
	case OpRead:
		if len(r.buf) == 0 {
			return pathDone
		}
		// The end of the file is the ring executor's to find: reading the
		// size here too would take the map's lock twice per read.
	case OpWrite:
		if len(r.buf) == 0 {
			return pathDone
		}
		if ino.prov.FixedSize() {
			if _, end := ino.sizes(); r.end() > end {
				r.err = &Error{Op: "write", Path: r.file.name, Offset: r.off, Err: unix.ENOSPC}
				return pathDone
			}
		}
		if a := ino.align.Offset; a > 1 && (r.off%a != 0 || int64(len(r.buf))%a != 0) {
			rt.stats.slowUnaligned.Add(1)
			return pathSlow // a read-modify-write of its edges
		}
	case OpAllocate:
		if ino.prov.FixedSize() {
			return pathDone // a device is all allocated
		}
		return pathSlow // fallocate blocks
	case OpFsync, OpFdatasync:
		if err := ino.stickySyncErr(); err != nil {
			r.err = err
			return pathDone
		}
		if r.op == OpFsync {
			if logical, kernel := ino.sizes(); kernel > logical {
				return pathSlow // the append-ahead tail is cut back first
			}
		}
	}
	if r.ctx.fast == nil {
		return pathSlow // the syscall backend
	}
	return pathFast
}

// allocLength is how many bytes an OpAllocate IOCB asks for.
func allocLength(cb *IOCB) int64 {
	if cb.Length != 0 {
		return cb.Length
	}
	return int64(len(cb.Buf))
}

// dispatch sends r where route says: Submit's last step (byCaller), and
// the way back in for a request a barrier held. onRing: the caller holds
// the context ring's lock. Only the submitting
// goroutine drives its context's own ring (a user context's, whose lock
// Submit holds, or a blocking method's caller ring): a resubmission, which
// runs on whichever goroutine released the barrier, goes to the shard.
func (rt *Runtime) dispatch(r *request, byCaller, onRing bool) {
	switch rt.route(r) {
	case pathDone:
		rt.finish(r, 0, r.err)
	case pathFast:
		if onRing && r.ctx.cring.placeLocked(r) {
			return // Submit holds the ring's lock and submits when its batch is placed
		}
		if byCaller && r.ctx.own != nil && rt.blocking.Load() <= rt.callerDriveMax && r.ctx.own.run(r) {
			return
		}
		if byCaller && r.ctx.blocking && rt.overflow != nil && rt.overflow.submitOne(r) {
			return // the caller parks in GetEvents; the reaper reaps the ring
		}
		r.ctx.fast.submit(r)
	default:
		rt.workers.submit(r)
	}
}
