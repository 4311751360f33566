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
// blocking. A file synced with SyncData as it grows (a log) gets the new
// range written with zeros instead (zeroFillLocked), in steps of
// AppendStepMin that do not grow. A write farther out preallocates around
// itself only: the gap stays a hole, as os.File leaves it, and takes no
// storage. Where the filesystem's policy is GrowByWrite (btrfs), nothing
// is preallocated and the write extends the file itself. ino.mu is held;
// f is the handle whose write it is (its runtime's step bounds and stats).
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
	allocate, zero := ino.fallocateLocked, ino.zeroAheadLocked(from)
	if zero {
		allocate = ino.zeroFillLocked
		// The write that extends waits for the zeros, and the next commit
		// for their flush and the allocation's journal: 1 MiB steps kept
		// WAL commits' p99.99 at 1.0-1.6 ms, 4 MiB ones at 3.1 ms
		// (decisions.md).
		target = max(min(target, from+f.rt.cfg.AppendStepMin), roundUp(end))
	}
	err := allocate(from, target-from)
	if errors.Is(err, unix.ENOSPC) && target > roundUp(end) {
		target = roundUp(end) // no room for the step: just what the write needs
		err = allocate(from, target-from)
	}
	if errors.Is(err, unix.EOPNOTSUPP) {
		// No fallocate here: let the write extend the file itself.
		return nil
	}
	if err != nil {
		return &Error{Op: "allocate", Path: f.name, Offset: from, Err: err}
	}
	f.rt.stats.extensions.Add(1)
	if zero {
		f.rt.stats.zeroedAhead.Add(uint64(target - from))
	}
	return nil
}

// zeroAheadLocked reports whether an extension from from should be
// written with zeros rather than fallocate'd: the file was synced with
// SyncData within the last second, and from is aligned for direct I/O.
// An fdatasync after an append into fallocate'd space must also convert
// its blocks from unwritten to written, a journal commit each time (on
// ext4 this made append + SyncData 0.67-0.71x pwrite + fdatasync, and
// overwriting written blocks 1.3-1.6x the same baseline): blocks written
// with zeros ahead make each commit an overwrite, whose fdatasync writes
// the data and nothing else. Sync cuts the tail back, so it does not
// count: zeros written ahead would be freed at every commit. ino.mu is
// held.
func (ino *inode) zeroAheadLocked(from int64) bool {
	last := ino.lastSyncData.Load()
	a := max(ino.align.Offset, 1)
	return last != 0 && time.Since(time.Unix(0, last)) < time.Second && from%a == 0
}

// zeroFillLocked writes zeros over [off, off+n), growing the kernel's
// size to cover it, and notes it in the map as written storage. A write
// that fails part of the way puts the size back, as a failed fallocate
// does. ino.mu is held.
func (ino *inode) zeroFillLocked(off, n int64) error {
	for o := off; o < off+n; o += int64(len(zeroBlock)) {
		k := min(int64(len(zeroBlock)), off+n-o)
		if _, err := pwriteFull(ino.fd, zeroBlock[:k], o); err != nil {
			return withRestore(err, ino.restoreSizeLocked())
		}
	}
	ino.prov.NoteWritten(off, n)
	return nil
}

// zeroBlock is the zeros zeroFillLocked writes, aligned for direct I/O
// (only read, by every file).
var zeroBlock = AlignedBuffer(1 << 20)

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
