package aio

import (
	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/aio/internal/req"
)

// The router decides on the submitting goroutine what is fixed at Open
// (alignment, a device's end, the backend) or cheap to read (the sizes
// for a sync, the sticky sync error); the ring's placer decides the rest
// from the map.

// start takes a validated IOCB into slot r and sends it on its way.
func (c *Context) start(r *req.Request, cb *IOCB) {
	f := cb.File
	c.iocbs[r.Slot] = cb
	r.Ino, r.Name, r.File, r.Stats = f.ino, f.name, &f.life, &c.rt.stats
	r.Op, r.Off, r.Buf, r.Flags = cb.Op, cb.Offset, cb.Buf, cb.Flags
	if r.Op == OpAllocate {
		r.Span, r.Buf = allocLength(cb), nil // the buffer is not the runtime's
	}
	if f.dsync && r.Op == OpWrite {
		r.Flags |= FlagDSync
	}
	c.rt.stats.InFlight.Add(1) // the file's lifetime counted it in validate
	if r.Op.Modifies() && !f.ino.Barriers.AdmitWrite(r) {
		return // held behind a barrier; its release resumes it (Resume)
	}
	if r.Flags&FlagBarrier != 0 && r.Op.IsSync() && f.ino.Barriers.Park(r) {
		return // after the writes submitted before it; their end resumes it
	}
	// The request holds r.Buf until delivered: reachable, and Go's heap
	// does not move (no runtime.Pinner: docs/decisions.md).
	c.dispatch(r, true)
}

// Resume sends on a request a barrier held back (req.Sink); it never
// waits.
func (c *Context) Resume(r *req.Request) { c.dispatch(r, false) }

// dispatch sends r where route says. inSubmit: the caller is r's Submit,
// which queues without waking anyone (it wakes once, after its batch:
// Context.queued); otherwise the owner, or a worker, is woken. Submit does
// not place requests itself: placing made it 4x as likely to be
// preempted while it ran, for no gain (docs/decisions.md).
func (c *Context) dispatch(r *req.Request, inSubmit bool) {
	switch c.route(r) {
	case pathDone:
		req.Finish(r, 0, r.Err)
	case pathSlow:
		if inSubmit && c.x != nil {
			c.rt.workers.Queue(r)
		} else {
			c.rt.workers.Submit(r)
		}
	default:
		if inSubmit {
			c.x.Queue(r)
		} else {
			c.x.Defer(r)
		}
	}
}

// path is where the router sends a request.
type path uint8

const (
	pathDone path = iota // finished on the spot: its result is set
	pathFast             // the ring
	pathSlow             // a worker
)

// route decides what can be decided before the map is read.
func (c *Context) route(r *req.Request) path {
	ino := r.Ino
	switch r.Op {
	case OpRead:
		if len(r.Buf) == 0 {
			return pathDone
		}
		// The end of the file is the ring's to find.
	case OpWrite:
		if len(r.Buf) == 0 {
			return pathDone
		}
		if ino.Prov.FixedSize() {
			if _, end := ino.Sizes(); r.End() > end {
				r.Err = &Error{Op: "write", Path: r.Name, Offset: r.Off, Err: unix.ENOSPC}
				return pathDone
			}
		}
		if a := ino.Align.Offset; a > 1 && r.Off%a != 0 {
			c.rt.stats.SlowUnaligned.Add(1)
			return pathSlow // a read-modify-write of its first unit
		}
		// An unaligned end: the placer pads the last unit with zeros
		// where no data lies past it, or sends it to a worker.
	case OpAllocate:
		if ino.Prov.FixedSize() {
			return pathDone // a device is all allocated
		}
		return pathSlow // fallocate blocks
	case OpFsync, OpFdatasync:
		if err := ino.StickySyncErr(); err != nil {
			r.Err = err
			return pathDone
		}
		if r.Op == OpFsync {
			if logical, kernel := ino.Sizes(); kernel > logical {
				return pathSlow // the append-ahead tail is cut back first
			}
		}
	}
	if c.x == nil {
		return pathSlow // the syscall backend
	}
	return pathFast
}
