package aio

import (
	"time"

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
	default:
		rt.slowSync(r)
	}
}

func (rt *Runtime) slowRead(r *request, scratch []byte) (int, error) {
	f := r.file
	logical, _ := f.sizes()
	if r.off >= logical {
		return 0, nil
	}
	n := min(int64(len(r.buf)), logical-r.off)
	a := max(f.align.Offset, 1)
	var done int64
	for done < n {
		pos := r.off + done
		if pos%a == 0 && n-done >= a && f.align.MemoryAligned(r.buf[done:]) {
			k := (n - done) / a * a
			got, err := preadFull(f.fd, r.buf[done:done+k], pos)
			done += int64(got)
			if err != nil {
				return int(done), &Error{Op: "read", Path: f.name, Offset: pos, Err: err}
			}
			if int64(got) < k {
				break // end of file
			}
			continue
		}
		// Unaligned: read the aligned units around pos into scratch.
		lo := pos / a * a
		hi := min(lo+int64(len(scratch)), (r.off+n+a-1)/a*a)
		got, err := preadFull(f.fd, scratch[:hi-lo], lo)
		if err != nil {
			return int(done), &Error{Op: "read", Path: f.name, Offset: lo, Err: err}
		}
		useful := min(lo+int64(got), r.off+n) - pos
		if useful <= 0 {
			break
		}
		copy(r.buf[done:done+useful], scratch[pos-lo:])
		rt.stats.bounces.Add(1)
		done += useful
		if int64(got) < hi-lo {
			break
		}
	}
	return int(done), nil
}

func (rt *Runtime) slowWrite(r *request, scratch []byte) (int, error) {
	f := r.file
	off, end := r.off, r.end()
	if f.dev != nil && end > f.dev.Size() {
		return 0, &Error{Op: "write", Path: f.name, Offset: off, Err: unix.ENOSPC}
	}
	// Lock whole filesystem blocks: every read-modify-write unit lies
	// inside them, so no fast write can land in a unit being rewritten.
	lo, hi := off/f.block*f.block, (end+f.block-1)/f.block*f.block
	f.locks.lockExclusive(lo, hi)
	defer f.locks.unlock(lo, hi, true)
	if f.prov != nil && f.direct {
		f.mu.Lock()
		err := f.extendLocked(end)
		f.mu.Unlock()
		if err != nil {
			return 0, err
		}
	}
	// What reaches the disk may be more than the request: whole edge units,
	// which can end past the kernel's size. The map must know all of it, or
	// Sync and Close would not cut the size back.
	wroteLo, wroteHi := off, end
	var err error
	if f.direct && f.align.Offset > 1 {
		wroteLo, wroteHi, err = rt.writeAligned(f, r, scratch)
	} else {
		_, err = pwriteFull(f.fd, r.buf, off)
	}
	if err != nil {
		return 0, &Error{Op: "write", Path: f.name, Offset: off, Err: err}
	}
	if f.prov != nil {
		f.prov.NoteWritten(wroteLo, wroteHi-wroteLo)
		f.prov.NoteLogicalEnd(end)
	}
	return len(r.buf), nil
}

// writeAligned writes r through whole units: the unaligned edges by
// read-modify-write (zero-filled where the old content is known zeros), the
// aligned middle straight from the caller's memory, or through scratch
// when that memory is not aligned. It returns the range it wrote, edges
// included. The caller holds the exclusive lock.
func (rt *Runtime) writeAligned(f *File, r *request, scratch []byte) (lo, hi int64, err error) {
	plan, err := bio.PlanWrite(r.off, int64(len(r.buf)), f.unitAt)
	if err != nil {
		return 0, 0, err
	}
	lo, hi = r.off, r.end()
	for _, e := range plan.EdgeList() {
		lo, hi = min(lo, e.Off), max(hi, e.End())
	}
	return lo, hi, rt.writePlan(f, r, plan, scratch)
}

func (rt *Runtime) writePlan(f *File, r *request, plan bio.Plan, scratch []byte) error {
	for _, e := range plan.EdgeList() {
		unit := scratch[:e.Len]
		if e.ZeroFill {
			clear(unit)
		} else {
			got, err := preadFull(f.fd, unit, e.Off)
			if err != nil {
				return err
			}
			clear(unit[got:]) // past the end of the file: zeros
		}
		e.Fill(unit, r.buf)
		if _, err := pwriteFull(f.fd, unit, e.Off); err != nil {
			return err
		}
		rt.stats.rmw.Add(1)
	}
	if plan.Mid.Len == 0 {
		return nil
	}
	src := r.buf[plan.Mid.Off-r.off : plan.Mid.Off-r.off+plan.Mid.Len]
	if f.align.MemoryAligned(src) {
		_, err := pwriteFull(f.fd, src, plan.Mid.Off)
		return err
	}
	rt.stats.bounces.Add(1)
	for done := int64(0); done < plan.Mid.Len; {
		k := min(int64(len(scratch)), plan.Mid.Len-done)
		copy(scratch[:k], src[done:done+k])
		if _, err := pwriteFull(f.fd, scratch[:k], plan.Mid.Off+done); err != nil {
			return err
		}
		done += k
	}
	return nil
}

// unitAt is the read-modify-write unit at pos and whether its content is
// known zeros (bio.UnitFunc): the direct-I/O alignment in written storage,
// the filesystem block elsewhere (unwritten, hole, past the end), where the
// kernel would otherwise zero the rest of the block itself.
func (f *File) unitAt(pos int64) (int64, bool) {
	if f.prov == nil {
		return f.align.Offset, false
	}
	m, _, err := f.prov.Begin(pos, 1, iomap.Write)
	if err != nil || m.Type == iomap.TypeMapped || m.Type == iomap.TypeDelalloc || m.Type == iomap.TypeInline {
		return f.align.Offset, false
	}
	return max(f.block, f.align.Offset), true
}

// extendLocked makes sure the kernel's size covers end, extending it ahead
// of the append by the current step and preallocating the new range, so
// that the appends that follow are overwrites of unwritten storage, which
// the kernel does without blocking. f.mu is held.
func (f *File) extendLocked(end int64) error {
	_, kernel := f.prov.Sizes()
	if end <= kernel {
		return nil
	}
	step := f.nextStepLocked()
	roundUp := func(x int64) int64 { return (x + f.block - 1) / f.block * f.block }
	target := roundUp(max(end, kernel+step))
	err := unix.Fallocate(f.fd, 0, kernel, target-kernel)
	if err == unix.ENOSPC && target > roundUp(end) {
		target = roundUp(end) // no room for the step: just what the write needs
		err = unix.Fallocate(f.fd, 0, kernel, target-kernel)
	}
	if err == unix.EOPNOTSUPP {
		// No fallocate here: let the write extend the file itself.
		return nil
	}
	if err != nil {
		return &Error{Op: "allocate", Path: f.name, Offset: kernel, Err: err}
	}
	f.prov.NoteAllocated(kernel, target-kernel, false)
	f.rt.stats.extensions.Add(1)
	return nil
}

// nextStepLocked grows the append-ahead step while appends keep coming
// (another extension within a second doubles it) and resets it when they
// pause.
func (f *File) nextStepLocked() int64 {
	now := time.Now()
	if now.Sub(f.lastExtend) < time.Second {
		f.step = min(f.step*2, f.rt.cfg.AppendStepMax)
	} else {
		f.step = f.rt.cfg.AppendStepMin
	}
	f.lastExtend = now
	return f.step
}

// slowSync runs an fsync or fdatasync with blocking calls, with the
// append-ahead tail cut back first (fsync). Barriers waited at Submit.
func (rt *Runtime) slowSync(r *request) {
	f := r.file
	if err := f.stickySyncErr(); err != nil {
		rt.finish(r, 0, err)
		return
	}
	if r.op == OpFsync && f.prov != nil {
		if err := f.cutBack(); err != nil {
			rt.finish(r, 0, err)
			return
		}
	}
	var err error
	if r.op == OpFsync {
		err = retryEINTR(func() error { return unix.Fsync(f.fd) })
	} else {
		err = retryEINTR(func() error { return unix.Fdatasync(f.fd) })
	}
	if err != nil {
		err = &Error{Op: r.op.String(), Path: f.name, Err: err}
		f.setSyncErr(err)
	}
	rt.finish(r, 0, err)
}

// cutBack truncates the kernel's size back to the logical size, after the
// writes in flight past the logical size have finished.
func (f *File) cutBack() error {
	logical, kernel := f.prov.Sizes()
	if kernel <= logical {
		return nil
	}
	f.locks.lockExclusive(logical, maxOffset)
	defer f.locks.unlock(logical, maxOffset, true)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cutBackLocked()
}

// preadFull reads b at off, retrying EINTR. A short read of a regular file
// is its end: reading on from there would ask O_DIRECT for an unaligned
// offset (EINVAL), so it stops.
func preadFull(fd int, b []byte, off int64) (int, error) {
	for {
		n, err := unix.Pread(fd, b, off)
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
		n, err := unix.Pwrite(fd, b[done:], off+int64(done))
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
