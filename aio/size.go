package aio

import (
	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/aio/internal/inode"
)

// Size changes: Truncate and Allocate, done by the calling goroutine
// under the file's exclusive range lock (package inode).

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
	return f.ino.Truncate(f.name, size)
}

// beginSizeChange counts a Truncate or Allocate on the handle (Close
// waits for it; the caller calls opDone), or refuses it.
func (f *File) beginSizeChange(op string, off int64) error {
	switch {
	case f.rt.life.IsClosed():
		return ErrRuntimeClosed
	case !f.acc.Write:
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
	if off < 0 || length <= 0 || off > inode.MaxOffset-length {
		return &Error{Op: "allocate", Path: f.name, Offset: off, Err: unix.EINVAL}
	}
	return f.ino.Allocate(f.name, off, length)
}
