package inode

import (
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Truncate sets the logical size (and the kernel's), after the I/O in
// flight beyond the new size. A grown file reads as zeros.
func (ino *Inode) Truncate(name string, size int64) error {
	if ino.Prov.FixedSize() {
		return &Error{Op: "truncate", Path: name, Offset: size, Err: unix.EINVAL}
	}
	ino.Locks.LockExclusive(size, MaxOffset)
	defer ino.Locks.UnlockExclusive(size, MaxOffset)
	ino.Mu.Lock()
	defer ino.Mu.Unlock()
	if err := RetryEINTR(func() error { return Sys.Ftruncate(ino.Fd, size) }); err != nil {
		return &Error{Op: "truncate", Path: name, Offset: size, Err: err}
	}
	ino.Prov.NoteKernelSize(size)
	ino.Prov.SetLogicalSize(size)
	ino.appendEnd = size
	// No data lies past size now (no write is in flight there: the lock),
	// so the next write's last unit needs no read.
	ino.dataEnd.Store(min(ino.dataEnd.Load(), size))
	return nil
}

// Allocate allocates [off, off+length) (posix_fallocate: the file grows
// to cover it, new bytes read as zeros) under the range's exclusive lock.
func (ino *Inode) Allocate(name string, off, length int64) error {
	if ino.Prov.FixedSize() {
		return nil // a device is all allocated
	}
	ino.Locks.LockExclusive(off, off+length)
	defer ino.Locks.UnlockExclusive(off, off+length)
	ino.Mu.Lock()
	defer ino.Mu.Unlock()
	if err := ino.fallocateLocked(off, length); err != nil {
		return &Error{Op: "allocate", Path: name, Offset: off, Err: err}
	}
	ino.Prov.NoteLogicalEnd(off + length)
	return nil
}

// CutBack truncates the kernel's size back to the logical size, after the
// writes in flight past the logical size have finished.
func (ino *Inode) CutBack(name string, cutBacks *atomic.Uint64) error {
	logical, kernel := ino.Prov.Sizes()
	if kernel <= logical {
		return nil
	}
	ino.Locks.LockExclusive(logical, MaxOffset)
	defer ino.Locks.UnlockExclusive(logical, MaxOffset)
	ino.Mu.Lock()
	defer ino.Mu.Unlock()
	return ino.CutBackLocked(name, cutBacks)
}

// CutBackLocked truncates the kernel's size back to the logical size,
// counting it in cutBacks. Mu is held, and no write is in flight past the
// logical size.
func (ino *Inode) CutBackLocked(name string, cutBacks *atomic.Uint64) error {
	logical, kernel := ino.Prov.Sizes()
	if kernel <= logical {
		return nil
	}
	if err := RetryEINTR(func() error { return Sys.Ftruncate(ino.Fd, logical) }); err != nil {
		return &Error{Op: "truncate", Path: name, Offset: logical, Err: err}
	}
	ino.Prov.NoteKernelSize(logical)
	cutBacks.Add(1)
	return nil
}

// ReserveAppend takes the next n bytes at the logical end for one append
// (appends through any handle get disjoint ranges).
func (ino *Inode) ReserveAppend(n int64) int64 {
	ino.Mu.Lock()
	defer ino.Mu.Unlock()
	logical, _ := ino.Sizes()
	off := max(logical, ino.appendEnd)
	ino.appendEnd = off + n
	return off
}

// UnreserveAppend gives back a failed append's range when it is the last.
func (ino *Inode) UnreserveAppend(off, n int64) {
	ino.Mu.Lock()
	defer ino.Mu.Unlock()
	if ino.appendEnd == off+n {
		ino.appendEnd = off
	}
}

// StickySyncErr is the first failed sync's error: after it the kernel may
// have dropped the dirty data, and a later fsync that "succeeds" proves
// nothing (PostgreSQL's fsyncgate). It is every handle's.
func (ino *Inode) StickySyncErr() error {
	if f := ino.syncErr.Load(); f != nil {
		return f.err
	}
	return nil
}

// SetSyncErr keeps err unless a failure is kept already.
func (ino *Inode) SetSyncErr(err error) {
	ino.syncErr.CompareAndSwap(nil, &syncFailure{err})
}

// syncFailure boxes the sticky error for the atomic pointer.
type syncFailure struct{ err error }
