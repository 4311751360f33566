package aio

import (
	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/bio"
	"github.com/nowaitio/nowait/iomap"
)

// slow runs r with blocking system calls, on a worker goroutine.
func (rt *Runtime) slow(r *request, scratch []byte) {
	switch r.op {
	case OpRead:
		rt.stats.slowReads.Add(1)
		n, err := rt.slowRead(r, scratch)
		rt.finish(r, n, err)
	case OpWrite:
		rt.stats.slowWrites.Add(1)
		n, err := rt.slowWrite(r, scratch)
		rt.finish(r, n, err)
	case OpAllocate:
		rt.finish(r, 0, r.file.allocate(r.off, r.span))
	default:
		rt.slowSync(r)
	}
}

// slowRead reads r with pread, by the same plan as the ring path
// (bio.PlanRead): unaligned ends read as whole units into scratch and
// copied out, the aligned middle read in place, or through scratch where
// the caller's memory is not aligned. A short read is the end of the file:
// what came before it is the result.
func (rt *Runtime) slowRead(r *request, scratch []byte) (int, error) {
	f, ino := r.file, r.file.ino
	logical, _ := ino.sizes()
	if r.off >= logical {
		return 0, nil
	}
	n := min(int64(len(r.buf)), logical-r.off)
	buf := r.buf[:n]
	plan, err := bio.PlanRead(r.off, n, max(ino.align.Offset, 1))
	if err != nil {
		return 0, err
	}
	var pieces [3]bio.Piece
	done := int64(0)
	for _, pc := range plan.Pieces(pieces[:0]) {
		var got int64
		var err error
		if pc.Edge >= 0 {
			got, err = rt.readEdge(ino, plan.EdgeList()[pc.Edge], buf, scratch)
		} else {
			got, err = rt.readMiddle(ino, buf[pc.ReqOff:pc.ReqOff+pc.Len], r.off+pc.ReqOff, scratch)
		}
		done += got
		if err != nil {
			return int(done), &Error{Op: "read", Path: f.name, Offset: r.off + pc.ReqOff, Err: err}
		}
		if got < pc.Len {
			break // end of file
		}
	}
	return int(done), nil
}

// readEdge reads edge e's unit into scratch and copies the request's
// bytes out into buf; it returns how many of them there were.
func (rt *Runtime) readEdge(ino *inode, e bio.Edge, buf, scratch []byte) (int64, error) {
	got, err := preadFull(ino.fd, scratch[:e.Len], e.Off)
	if err != nil {
		return 0, err
	}
	rt.stats.bounces.Add(1)
	have := min(max(int64(got)-e.DataOff, 0), e.DataLen)
	e.DataLen = have // a unit cut short by the end of the file
	e.CopyOut(scratch[:e.Len], buf)
	return have, nil
}

// readMiddle reads the aligned range dst at off: in place where dst's
// memory is aligned, else through scratch.
func (rt *Runtime) readMiddle(ino *inode, dst []byte, off int64, scratch []byte) (int64, error) {
	if ino.align.MemoryAligned(dst) {
		got, err := preadFull(ino.fd, dst, off)
		return int64(got), err
	}
	rt.stats.bounces.Add(1)
	done := int64(0)
	for done < int64(len(dst)) {
		k := min(int64(len(scratch)), int64(len(dst))-done)
		got, err := preadFull(ino.fd, scratch[:k], off+done)
		copy(dst[done:done+int64(got)], scratch[:got])
		done += int64(got)
		if err != nil || int64(got) < k {
			return done, err
		}
	}
	return done, nil
}

func (rt *Runtime) slowWrite(r *request, scratch []byte) (int, error) {
	// The router refused writes past a device's end before they came here.
	f, ino := r.file, r.file.ino
	off, end := r.off, r.end()
	// Lock whole filesystem blocks: every read-modify-write unit lies
	// inside them, so no fast write can land in a unit being rewritten.
	lo, hi := off/ino.block*ino.block, (end+ino.block-1)/ino.block*ino.block
	ino.locks.lockExclusive(lo, hi)
	defer ino.locks.unlock(lo, hi, true)
	dataEnd := ino.raiseDataEnd(end)
	if !ino.prov.FixedSize() && ino.direct {
		ino.mu.Lock()
		err := ino.extendLocked(f, off, end)
		ino.mu.Unlock()
		if err != nil {
			return 0, err
		}
	}
	// What reaches the disk may be more than the request: whole edge units,
	// which can end past the kernel's size. The map must know all of it, or
	// Sync and Close would not cut the size back.
	wroteLo, wroteHi := off, end
	var err error
	if ino.direct && ino.align.Offset > 1 {
		wroteLo, wroteHi, err = rt.writeAligned(ino, r, scratch, dataEnd)
	} else {
		_, err = pwriteFull(ino.fd, r.buf, off)
	}
	if err != nil {
		if _, kernel := ino.prov.Sizes(); wroteHi > kernel {
			// A write that failed past the kernel's size (no fallocate
			// here, or buffered) may have grown the file anyway.
			ino.mu.Lock()
			err = withRestore(err, ino.restoreSizeLocked())
			ino.mu.Unlock()
		}
		return 0, &Error{Op: "write", Path: f.name, Offset: off, Err: err}
	}
	ino.prov.NoteWritten(wroteLo, wroteHi-wroteLo)
	ino.prov.NoteLogicalEnd(end)
	if r.flg&FlagDSync != 0 {
		// What RWF_DSYNC does on the fast path: the write, its edges and
		// the size it needs are durable before it completes.
		if err := retryEINTR(func() error { return sys.Fdatasync(ino.fd) }); err != nil {
			err = &Error{Op: "write", Path: f.name, Offset: off, Err: err}
			ino.setSyncErr(err)
			return 0, err
		}
	}
	return len(r.buf), nil
}

// writeAligned writes r through whole units: the unaligned edges by
// read-modify-write (zero-filled where the old content is known zeros), the
// aligned middle straight from the caller's memory, or through scratch
// when that memory is not aligned. It returns the range it wrote, edges
// included. The caller holds the exclusive lock, under which it found
// dataEnd (inode.dataEnd).
func (rt *Runtime) writeAligned(ino *inode, r *request, scratch []byte, dataEnd int64) (lo, hi int64, err error) {
	plan, err := bio.PlanWrite(r.off, int64(len(r.buf)), ino.tailUnitFunc(r.off, r.end(), dataEnd))
	if err != nil {
		return 0, 0, err
	}
	lo, hi = r.off, r.end()
	for _, e := range plan.EdgeList() {
		lo, hi = min(lo, e.Off), max(hi, e.End())
	}
	return lo, hi, rt.writePlan(ino, r, plan, scratch)
}

// spanMax bounds a write whose edges and middle go to the kernel as one
// write (writeSpan): below it, copying the middle costs less than the
// system call and device I/O of a second write (a WAL record and the
// block it finishes); above it, the middle goes from the caller's memory.
const spanMax = 128 << 10

func (rt *Runtime) writePlan(ino *inode, r *request, plan bio.Plan, scratch []byte) error {
	if plan.NEdges > 0 {
		lo, hi := plan.Edges[0].Off, plan.Edges[plan.NEdges-1].End()
		if plan.Mid.Len > 0 {
			lo, hi = min(lo, plan.Mid.Off), max(hi, plan.Mid.Off+plan.Mid.Len)
		}
		if hi-lo <= min(spanMax, int64(len(scratch))) {
			return rt.writeSpan(ino, r, plan, scratch[:hi-lo], lo)
		}
	}
	for _, e := range plan.EdgeList() {
		unit := scratch[:e.Len]
		if err := rt.mergeEdge(ino, r, e, unit); err != nil {
			return err
		}
		if _, err := pwriteFull(ino.fd, unit, e.Off); err != nil {
			return err
		}
	}
	if plan.Mid.Len == 0 {
		return nil
	}
	src := r.buf[plan.Mid.Off-r.off : plan.Mid.Off-r.off+plan.Mid.Len]
	if ino.align.MemoryAligned(src) {
		_, err := pwriteFull(ino.fd, src, plan.Mid.Off)
		return err
	}
	rt.stats.bounces.Add(1)
	for done := int64(0); done < plan.Mid.Len; {
		k := min(int64(len(scratch)), plan.Mid.Len-done)
		copy(scratch[:k], src[done:done+k])
		if _, err := pwriteFull(ino.fd, scratch[:k], plan.Mid.Off+done); err != nil {
			return err
		}
		done += k
	}
	return nil
}

// mergeEdge puts edge e's unit in unit: its old content read (or zeros,
// where it is known to read as zeros), with the request's bytes over it.
func (rt *Runtime) mergeEdge(ino *inode, r *request, e bio.Edge, unit []byte) error {
	if e.ZeroFill {
		clear(unit)
	} else {
		got, err := preadFull(ino.fd, unit, e.Off)
		if err != nil {
			return err
		}
		clear(unit[got:]) // past the end of the file: zeros
	}
	e.Fill(unit, r.buf)
	rt.stats.rmw.Add(1)
	return nil
}

// writeSpan writes the plan's edges and middle, which together are span
// from lo on, in one write: the edges read (or zero-filled) into their
// places, the request's bytes copied over them.
func (rt *Runtime) writeSpan(ino *inode, r *request, plan bio.Plan, span []byte, lo int64) error {
	for _, e := range plan.EdgeList() {
		if err := rt.mergeEdge(ino, r, e, span[e.Off-lo:e.Off-lo+e.Len]); err != nil {
			return err
		}
	}
	if m := plan.Mid; m.Len > 0 {
		copy(span[m.Off-lo:m.Off-lo+m.Len], r.buf[m.Off-r.off:m.Off-r.off+m.Len])
	}
	_, err := pwriteFull(ino.fd, span, lo)
	return err
}

// unitAt is the read-modify-write unit at pos and whether all of its
// content is known zeros (bio.UnitFunc): the direct-I/O alignment in
// written storage, the filesystem block elsewhere (unwritten, hole, past
// the end), where the kernel would otherwise zero the rest of the block
// itself. The block is zero-filled only if every byte of it reads as
// zeros (iomap.UnitKnownZero): a block that ends the file's data is read.
func (ino *inode) unitAt(pos int64) (int64, bool, error) {
	var it iomap.Iter
	it.Reset(ino.prov, pos, 1, iomap.Write)
	if !it.Next() {
		return 0, false, it.Err()
	}
	typ := it.Map.Type
	it.Advance(it.Length())
	it.Next() // ends the mapping: the walk of one byte is over
	switch typ {
	case iomap.TypeMapped, iomap.TypeDelalloc, iomap.TypeInline:
		return ino.align.Offset, false, nil
	}
	unit := max(ino.block, ino.align.Offset)
	zero, err := iomap.UnitKnownZero(&it, ino.prov, pos/unit*unit, unit)
	return unit, zero, err
}

// slowSync runs an fsync or fdatasync with blocking calls, with the
// append-ahead tail cut back first (fsync). Barriers waited at Submit.
func (rt *Runtime) slowSync(r *request) {
	f, ino := r.file, r.file.ino
	if err := ino.stickySyncErr(); err != nil {
		rt.finish(r, 0, err)
		return
	}
	if r.op == OpFsync {
		if err := f.cutBack(); err != nil {
			rt.finish(r, 0, err)
			return
		}
	}
	var err error
	if r.op == OpFsync {
		err = retryEINTR(func() error { return sys.Fsync(ino.fd) })
	} else {
		err = retryEINTR(func() error { return sys.Fdatasync(ino.fd) })
	}
	if err != nil {
		err = &Error{Op: r.op.String(), Path: f.name, Err: err}
		ino.setSyncErr(err)
	}
	rt.finish(r, 0, err)
}

// cutBack truncates the kernel's size back to the logical size, after the
// writes in flight past the logical size have finished.
func (f *File) cutBack() error {
	ino := f.ino
	logical, kernel := ino.prov.Sizes()
	if kernel <= logical {
		return nil
	}
	ino.locks.lockExclusive(logical, maxOffset)
	defer ino.locks.unlock(logical, maxOffset, true)
	ino.mu.Lock()
	defer ino.mu.Unlock()
	return ino.cutBackLocked(f.rt, f.name)
}

// preadFull reads b at off, retrying EINTR. A short read of a regular file
// is its end: reading on from there would ask O_DIRECT for an unaligned
// offset (EINVAL), so it stops.
func preadFull(fd int, b []byte, off int64) (int, error) {
	for {
		n, err := sys.Pread(fd, b, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		return n, nil
	}
}

func pwriteFull(fd int, b []byte, off int64) (int, error) {
	done := 0
	for done < len(b) {
		n, err := sys.Pwrite(fd, b[done:], off+int64(done))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return done, err
		}
		done += n
	}
	return done, nil
}

func retryEINTR(f func() error) error {
	for {
		if err := f(); err != unix.EINTR {
			return err
		}
	}
}
