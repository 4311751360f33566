package aio

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/iomap"
)

// Space: how the runtime grows a file's storage ahead of writes, and how
// it keeps the file's size exact when the filesystem says no.

// extendLocked makes sure the kernel's size covers end, the end of a
// write at off. An append (a write that starts at, or within one step of,
// the kernel's size) extends the file ahead by the current step and
// preallocates the new range, so that the appends that follow are
// overwrites of unwritten storage, which the kernel does without
// blocking. A write farther out preallocates around itself only: the gap
// stays a hole, as os.File leaves it, and takes no storage. Where the
// filesystem's policy is GrowByWrite (btrfs), nothing is preallocated and
// the write extends the file itself. ino.mu is
// held; f is the handle whose write it is (its runtime's step bounds and
// stats).
func (ino *inode) extendLocked(f *File, off, end int64) error {
	_, kernel := ino.prov.Sizes()
	if end <= kernel || ino.prov.Policy().Growth != iomap.GrowAhead {
		return nil // GrowByWrite: the write extends the file itself
	}
	roundUp := func(x int64) int64 { return (x + ino.block - 1) / ino.block * ino.block }
	from, target := kernel, roundUp(end)
	if off-kernel > max(ino.step, f.rt.cfg.AppendStepMin) {
		from = off / ino.block * ino.block
	} else {
		target = roundUp(max(end, kernel+ino.nextStepLocked(f.rt.cfg)))
	}
	err := ino.fallocateLocked(from, target-from)
	if errors.Is(err, unix.ENOSPC) && target > roundUp(end) {
		target = roundUp(end) // no room for the step: just what the write needs
		err = ino.fallocateLocked(from, target-from)
	}
	if errors.Is(err, unix.EOPNOTSUPP) {
		// No fallocate here: let the write extend the file itself.
		return nil
	}
	if err != nil {
		return &Error{Op: "allocate", Path: f.name, Offset: from, Err: err}
	}
	f.rt.stats.extensions.Add(1)
	return nil
}

// nextStepLocked grows the append-ahead step while appends keep coming
// (another extension within a second doubles it) and resets it when they
// pause.
func (ino *inode) nextStepLocked(cfg Config) int64 {
	now := time.Now()
	if now.Sub(ino.lastExtend) < time.Second {
		ino.step = min(max(ino.step*2, cfg.AppendStepMin), cfg.AppendStepMax)
	} else {
		ino.step = cfg.AppendStepMin
	}
	ino.lastExtend = now
	return ino.step
}

// fallocateLocked preallocates [off, off+n), growing the kernel's size to
// cover it, and notes it in the map. A fallocate that fails may still have
// changed the file: ext4 raises the size of a file even when it runs out
// of space part of the way, and keeps what it allocated below the old
// size. So a failure puts the size back (restoreSizeLocked) before it is
// returned, and the runtime's idea of the file stays the truth. ino.mu is
// held.
func (ino *inode) fallocateLocked(off, n int64) error {
	err := retryEINTR(func() error { return sys.Fallocate(ino.fd, 0, off, n) })
	if err == nil {
		ino.prov.NoteAllocated(off, n, false)
		return nil
	}
	if errors.Is(err, unix.EOPNOTSUPP) {
		return err // nothing was tried
	}
	return withRestore(err, ino.restoreSizeLocked())
}

// withRestore is err, the failure of a call, with the failure of putting
// the size back after it, if that failed too.
func withRestore(err, restoreErr error) error {
	if restoreErr == nil {
		return err
	}
	return fmt.Errorf("%w; then putting the size back failed: %w", err, restoreErr)
}

// restoreSizeLocked makes the kernel's size the one the map holds, after
// a call that failed may have changed it, and reads the map again (the
// call may have allocated part of its range). ino.mu is held.
func (ino *inode) restoreSizeLocked() error {
	_, kernel := ino.prov.Sizes()
	var st unix.Stat_t
	if err := sys.Fstat(ino.fd, &st); err != nil {
		return fmt.Errorf("fstat: %w", err)
	}
	if st.Size > kernel {
		if err := retryEINTR(func() error { return sys.Ftruncate(ino.fd, kernel) }); err != nil {
			return fmt.Errorf("ftruncate to %d: %w", kernel, err)
		}
	} else if st.Size < kernel {
		ino.prov.NoteKernelSize(st.Size) // the file is what the kernel says
	}
	if err := ino.prov.Refresh(); err != nil {
		return fmt.Errorf("reading the map: %w", err)
	}
	return nil
}
