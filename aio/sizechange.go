package aio

import "golang.org/x/sys/unix"

// Size changes: Truncate, Allocate (and OpAllocate) and the cut-back of
// the append-ahead tail, each under the exclusive range lock of what it
// changes and the inode's size-change lock.

// Truncate sets the logical size, waiting for I/O in flight beyond the new
// size. Growing the file reads as zeros.
func (f *File) Truncate(size int64) error {
	if err := f.beginSizeChange("truncate", size); err != nil {
		return err
	}
	defer f.opDone()
	if size < 0 {
		return &Error{Op: "truncate", Path: f.name, Offset: size, Err: ErrNegativeOffset}
	}
	return f.truncate(size)
}

func (f *File) truncate(size int64) error {
	ino := f.ino
	if ino.prov.FixedSize() {
		return &Error{Op: "truncate", Path: f.name, Offset: size, Err: unix.EINVAL}
	}
	ino.locks.lockExclusive(size, maxOffset)
	defer ino.locks.unlock(size, maxOffset, true)
	ino.mu.Lock()
	defer ino.mu.Unlock()
	if err := retryEINTR(func() error { return sys.Ftruncate(ino.fd, size) }); err != nil {
		return &Error{Op: "truncate", Path: f.name, Offset: size, Err: err}
	}
	ino.prov.NoteKernelSize(size)
	ino.prov.SetLogicalSize(size)
	ino.appendEnd = size
	return nil
}

// beginSizeChange counts a Truncate or Allocate on the handle (so that
// Close waits for it), or refuses it on a closed handle or runtime, or on
// a handle not opened for writing. The caller calls opDone when it is
// done.
func (f *File) beginSizeChange(op string, off int64) error {
	switch {
	case f.rt.life.isClosed():
		return ErrRuntimeClosed
	case !f.acc.write:
		return &Error{Op: op, Path: f.name, Offset: off, Err: ErrReadOnly}
	case !f.opStart():
		return ErrClosed
	}
	return nil
}

// Allocate allocates storage for [off, off+length), growing the file if
// that lies past its end (like posix_fallocate); the new range reads as
// zeros.
func (f *File) Allocate(off, length int64) error {
	if err := f.beginSizeChange("allocate", off); err != nil {
		return err
	}
	defer f.opDone()
	if off < 0 || length <= 0 || off > maxOffset-length {
		return &Error{Op: "allocate", Path: f.name, Offset: off, Err: unix.EINVAL}
	}
	return f.allocate(off, length)
}

// allocate is Allocate and OpAllocate, with the arguments checked: under
// the range's exclusive lock, so that no write into the range runs beside
// the fallocate.
func (f *File) allocate(off, length int64) error {
	ino := f.ino
	if ino.prov.FixedSize() {
		return nil // a device is all allocated
	}
	ino.locks.lockExclusive(off, off+length)
	defer ino.locks.unlock(off, off+length, true)
	ino.mu.Lock()
	defer ino.mu.Unlock()
	if err := ino.fallocateLocked(off, length); err != nil {
		return &Error{Op: "allocate", Path: f.name, Offset: off, Err: err}
	}
	ino.prov.NoteLogicalEnd(off + length)
	return nil
}

// cutBackLocked truncates the kernel's size back to the logical size when
// append-ahead left it larger, counting it in rt's stats. ino.mu must be
// held and no write may be in flight past the logical size (the caller
// holds the range lock or has drained the file).
func (ino *inode) cutBackLocked(rt *Runtime, name string) error {
	logical, kernel := ino.prov.Sizes()
	if kernel <= logical {
		return nil
	}
	if err := retryEINTR(func() error { return sys.Ftruncate(ino.fd, logical) }); err != nil {
		return &Error{Op: "truncate", Path: name, Offset: logical, Err: err}
	}
	ino.prov.NoteKernelSize(logical)
	rt.stats.cutBacks.Add(1)
	return nil
}
