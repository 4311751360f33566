package slow

import (
	"github.com/nowaitio/nowait/aio/internal/inode"
	"github.com/nowaitio/nowait/aio/internal/req"
	"github.com/nowaitio/nowait/bio"
)

// write does r with blocking calls: under the exclusive lock of the whole
// blocks it touches, it extends the file ahead of it where it ends past
// the kernel's size, and writes it through whole units (a read-modify-write
// of unaligned edges).
func (w *Workers) write(r *req.Request, scratch []byte) (int, error) {
	ino := r.Ino
	off, end := r.Off, r.End()
	// Lock whole filesystem blocks: every read-modify-write unit lies
	// inside them, so no fast write can land in a unit being rewritten.
	lo, hi := off/ino.Block*ino.Block, ino.RoundUp(end)
	ino.Locks.LockExclusive(lo, hi)
	defer ino.Locks.UnlockExclusive(lo, hi)
	dataEnd := ino.RaiseDataEnd(end)
	if !ino.Prov.FixedSize() && ino.Direct {
		ino.Mu.Lock()
		err := ino.ExtendLocked(w.steps, w.stats, r.Name, off, end)
		ino.Mu.Unlock()
		if err != nil {
			return 0, err
		}
	}
	// Whole edge units reach the disk, maybe past the kernel's size: the
	// map must know all of it, for Sync and Close to cut the size back.
	wroteLo, wroteHi := off, end
	var err error
	switch {
	case ino.PastLastUnit(end):
		var fd int
		if fd, err = ino.BufferedFd(); err == nil {
			_, err = inode.PwriteFull(fd, r.Buf, off)
		}
	case ino.Direct && ino.Align.Offset > 1:
		wroteLo, wroteHi, err = w.writeAligned(ino, r, scratch, dataEnd)
	default:
		_, err = inode.PwriteFull(ino.Fd, r.Buf, off)
	}
	if err != nil {
		if _, kernel := ino.Prov.Sizes(); wroteHi > kernel {
			// A write that failed past the kernel's size (no fallocate
			// here, or buffered) may have grown the file anyway.
			ino.Mu.Lock()
			err = inode.WithRestore(err, ino.RestoreSizeLocked())
			ino.Mu.Unlock()
		}
		return 0, &inode.Error{Op: "write", Path: r.Name, Offset: off, Err: err}
	}
	ino.Prov.NoteWritten(wroteLo, wroteHi-wroteLo)
	ino.Prov.NoteLogicalEnd(end)
	if r.Flags&req.FlagDSync != 0 {
		// As RWF_DSYNC on the fast path: durable before it completes.
		if err := inode.RetryEINTR(func() error { return inode.Sys.Fdatasync(ino.Fd) }); err != nil {
			err = &inode.Error{Op: "write", Path: r.Name, Offset: off, Err: err}
			ino.SetSyncErr(err)
			return 0, err
		}
	}
	return len(r.Buf), nil
}

// writeAligned writes r through whole units (read-modify-write of the
// unaligned edges, zero-filled where known zeros; the middle from the
// caller's memory, or through scratch) and returns the range it wrote.
// The caller holds the exclusive lock, under which it found dataEnd.
func (w *Workers) writeAligned(ino *inode.Inode, r *req.Request, scratch []byte, dataEnd int64) (lo, hi int64, err error) {
	plan, err := bio.PlanWrite(r.Off, int64(len(r.Buf)), ino.TailUnitFunc(r.Off, r.End(), dataEnd))
	if err != nil {
		return 0, 0, err
	}
	lo, hi = r.Off, r.End()
	for _, e := range plan.EdgeList() {
		lo, hi = min(lo, e.Off), max(hi, e.End())
	}
	return lo, hi, w.writePlan(ino, r, plan, scratch)
}

// spanMax bounds a write whose edges and middle go as one write
// (writeSpan): below it, copying the middle costs less than a second
// write (a WAL record and the block it finishes).
const spanMax = 128 << 10

func (w *Workers) writePlan(ino *inode.Inode, r *req.Request, plan bio.Plan, scratch []byte) error {
	if plan.NEdges > 0 {
		lo, hi := plan.Edges[0].Off, plan.Edges[plan.NEdges-1].End()
		if plan.Mid.Len > 0 {
			lo, hi = min(lo, plan.Mid.Off), max(hi, plan.Mid.Off+plan.Mid.Len)
		}
		if hi-lo <= min(spanMax, int64(len(scratch))) {
			return w.writeSpan(ino, r, plan, scratch[:hi-lo], lo)
		}
	}
	for _, e := range plan.EdgeList() {
		unit := scratch[:e.Len]
		if err := w.mergeEdge(ino, r, e, unit); err != nil {
			return err
		}
		if _, err := inode.PwriteFull(ino.Fd, unit, e.Off); err != nil {
			return err
		}
	}
	if plan.Mid.Len == 0 {
		return nil
	}
	src := r.Buf[plan.Mid.Off-r.Off : plan.Mid.Off-r.Off+plan.Mid.Len]
	if ino.Align.MemoryAligned(src) {
		_, err := inode.PwriteFull(ino.Fd, src, plan.Mid.Off)
		return err
	}
	w.stats.Bounces.Add(1)
	for done := int64(0); done < plan.Mid.Len; {
		k := min(int64(len(scratch)), plan.Mid.Len-done)
		copy(scratch[:k], src[done:done+k])
		if _, err := inode.PwriteFull(ino.Fd, scratch[:k], plan.Mid.Off+done); err != nil {
			return err
		}
		done += k
	}
	return nil
}

// mergeEdge puts edge e's unit in unit: its old content read (or zeros,
// where it is known to read as zeros), with the request's bytes over it.
func (w *Workers) mergeEdge(ino *inode.Inode, r *req.Request, e bio.Edge, unit []byte) error {
	if e.ZeroFill {
		clear(unit)
	} else {
		got, err := inode.PreadFull(ino.Fd, unit, e.Off)
		if err != nil {
			return err
		}
		clear(unit[got:]) // past the end of the file: zeros
	}
	e.Fill(unit, r.Buf)
	w.stats.RMW.Add(1)
	return nil
}

// writeSpan writes the plan's edges and middle, span from lo on, as one
// write.
func (w *Workers) writeSpan(ino *inode.Inode, r *req.Request, plan bio.Plan, span []byte, lo int64) error {
	for _, e := range plan.EdgeList() {
		if err := w.mergeEdge(ino, r, e, span[e.Off-lo:e.Off-lo+e.Len]); err != nil {
			return err
		}
	}
	if m := plan.Mid; m.Len > 0 {
		copy(span[m.Off-lo:m.Off-lo+m.Len], r.Buf[m.Off-r.Off:m.Off-r.Off+m.Len])
	}
	_, err := inode.PwriteFull(ino.Fd, span, lo)
	return err
}
