package inode

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/aio/internal/stats"
	"github.com/nowaitio/nowait/bio"
	"github.com/nowaitio/nowait/iomap"
)

// Steps bound the append-ahead step (Config.AppendStepMin and Max).
type Steps struct{ Min, Max int64 }

// ExtendLocked makes sure the kernel's size covers end, the end of a
// write at off. An append (within one step of the kernel's size) extends
// the file by the current step and preallocates it, so that the appends
// that follow are overwrites, which the kernel does without blocking; a
// file synced with SyncData as it grows (a log) gets steps of steps.Min
// written with zeros instead (zeroAheadLocked). A write farther out
// preallocates around itself only: the gap stays a hole, as with
// os.File. With GrowByWrite (btrfs) the write extends the file itself.
// Mu is held.
func (ino *Inode) ExtendLocked(steps Steps, c *stats.Counters, name string, off, end int64) error {
	_, kernel := ino.Prov.Sizes()
	if end <= kernel || ino.Prov.Policy().Growth != iomap.GrowAhead {
		return nil // GrowByWrite: the write extends the file itself
	}
	need := ino.RoundUp(end)
	from, target := kernel, need
	if off-kernel > max(ino.step, steps.Min) {
		from = off / ino.Block * ino.Block
	} else {
		// The step, capped below the largest offset (files may reach 8 EiB).
		target = max(need, kernel+min(ino.nextStepLocked(steps), MaxOffset-ino.Block-kernel))
		target = max(target/ino.Block*ino.Block, need)
	}
	allocate, zero := ino.fallocateLocked, ino.zeroAheadLocked(from)
	if zero {
		allocate = ino.zeroFillLocked
		// Small steps: the next commit waits for their flush (decisions.md).
		target = max(min(target, from+steps.Min), need)
	}
	err := allocate(from, target-from)
	if target > need && (errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EFBIG)) {
		target = need // no room for the step: just what the write needs
		err = allocate(from, target-from)
	}
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EFBIG) {
		// No fallocate here, or not that far out: let the write extend
		// the file itself, as os.File's would.
		return nil
	}
	if err != nil {
		return &Error{Op: "allocate", Path: name, Offset: from, Err: err}
	}
	c.Extensions.Add(1)
	if zero {
		c.ZeroedAhead.Add(uint64(target - from))
	}
	return nil
}

// RoundUp rounds x up to a whole block, or to the largest offset where
// that would overflow.
func (ino *Inode) RoundUp(x int64) int64 {
	if x > MaxOffset-ino.Block {
		return MaxOffset
	}
	return (x + ino.Block - 1) / ino.Block * ino.Block
}

// zeroAheadLocked reports whether an extension from from should be
// written with zeros rather than fallocate'd: the file was synced with
// SyncData within the last second, and from is aligned. An fdatasync
// after an append into fallocate'd space must also convert its blocks to
// written, a journal commit each time; into zeros written ahead, it
// writes the data alone (decisions.md). Sync cuts the tail back, so it
// does not count. Mu is held.
func (ino *Inode) zeroAheadLocked(from int64) bool {
	last := ino.LastSyncData.Load()
	a := max(ino.Align.Offset, 1)
	return last != 0 && time.Since(time.Unix(0, last)) < time.Second && from%a == 0
}

// zeroFillLocked writes zeros over [off, off+n), growing the kernel's
// size, and notes it in the map as written storage; a failure puts the
// size back. Mu is held.
func (ino *Inode) zeroFillLocked(off, n int64) error {
	for o := off; o < off+n; o += int64(len(zeroBlock)) {
		k := min(int64(len(zeroBlock)), off+n-o)
		if _, err := PwriteFull(ino.Fd, zeroBlock[:k], o); err != nil {
			return WithRestore(err, ino.RestoreSizeLocked())
		}
	}
	ino.Prov.NoteWritten(off, n)
	return nil
}

// nextStepLocked grows the append-ahead step while appends keep coming
// (another extension within a second doubles it) and resets it when they
// pause.
func (ino *Inode) nextStepLocked(steps Steps) int64 {
	now := time.Now()
	if now.Sub(ino.lastExtend) < time.Second {
		ino.step = min(max(ino.step*2, steps.Min), steps.Max)
	} else {
		ino.step = steps.Min
	}
	ino.lastExtend = now
	return ino.step
}

// fallocateLocked preallocates [off, off+n), growing the kernel's size,
// and notes it in the map. A failed fallocate may still have changed the
// file (ext4 raises the size even when it runs out of space part of the
// way), so a failure puts the size back first. Mu is held.
func (ino *Inode) fallocateLocked(off, n int64) error {
	err := RetryEINTR(func() error { return Sys.Fallocate(ino.Fd, 0, off, n) })
	if err == nil {
		ino.Prov.NoteAllocated(off, n, false)
		return nil
	}
	if errors.Is(err, unix.EOPNOTSUPP) {
		return err // nothing was tried
	}
	return WithRestore(err, ino.RestoreSizeLocked())
}

// WithRestore is err, the failure of a call, with the failure of putting
// the size back after it, if that failed too.
func WithRestore(err, restoreErr error) error {
	if restoreErr == nil {
		return err
	}
	return fmt.Errorf("%w; then putting the size back failed: %w", err, restoreErr)
}

// RestoreSizeLocked makes the kernel's size the one the map holds, after
// a call that failed may have changed it, and reads the map again (the
// call may have allocated part of its range). Mu is held.
func (ino *Inode) RestoreSizeLocked() error {
	_, kernel := ino.Prov.Sizes()
	var st unix.Stat_t
	if err := Sys.Fstat(ino.Fd, &st); err != nil {
		return fmt.Errorf("fstat: %w", err)
	}
	if st.Size > kernel {
		if err := RetryEINTR(func() error { return Sys.Ftruncate(ino.Fd, kernel) }); err != nil {
			return fmt.Errorf("ftruncate to %d: %w", kernel, err)
		}
	} else if st.Size < kernel {
		ino.Prov.NoteKernelSize(st.Size) // the file is what the kernel says
	}
	if err := ino.Prov.Refresh(); err != nil {
		return fmt.Errorf("reading the map: %w", err)
	}
	return nil
}

// zeroBlock is the zeros zeroFillLocked writes, aligned for direct I/O
// (only read, by every file).
var zeroBlock = bio.AlignedBuffer(1 << 20)

// MaxOffset is the largest file offset, and stands for "the end of every
// file".
const MaxOffset = int64(1<<63 - 1)
