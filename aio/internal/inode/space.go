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

// Space: how the runtime grows a file's storage ahead of writes, and how
// it keeps the file's size exact when the filesystem says no.

// Steps bound the append-ahead step (Config.AppendStepMin and Max).
type Steps struct{ Min, Max int64 }

// ExtendLocked makes sure the kernel's size covers end, the end of a
// write at off. An append (a write that starts at, or within one step of,
// the kernel's size) extends the file ahead by the current step and
// preallocates the new range, so that the appends that follow are
// overwrites of unwritten storage, which the kernel does without
// blocking. A file synced with SyncData as it grows (a log) gets the new
// range written with zeros instead (zeroFillLocked), in steps of
// steps.Min that do not grow. A write farther out preallocates around
// itself only: the gap stays a hole, as os.File leaves it, and takes no
// storage. Where the filesystem's policy is GrowByWrite (btrfs), nothing
// is preallocated and the write extends the file itself. Mu is held.
func (ino *Inode) ExtendLocked(steps Steps, c *stats.Counters, name string, off, end int64) error {
	_, kernel := ino.Prov.Sizes()
	if end <= kernel || ino.Prov.Policy().Growth != iomap.GrowAhead {
		return nil // GrowByWrite: the write extends the file itself
	}
	need := ino.roundUp(end)
	from, target := kernel, need
	if off-kernel > max(ino.step, steps.Min) {
		from = off / ino.Block * ino.Block
	} else {
		// The step, where it fits below the largest offset: a write near
		// the end of a file that may reach 8 EiB grows by what it needs.
		target = max(need, kernel+min(ino.nextStepLocked(steps), maxOffset-ino.Block-kernel))
		target = ino.roundDownCapped(target, need)
	}
	allocate, zero := ino.fallocateLocked, ino.zeroAheadLocked(from)
	if zero {
		allocate = ino.zeroFillLocked
		// The write that extends waits for the zeros, and the next commit
		// for their flush and the allocation's journal: 1 MiB steps kept
		// WAL commits' p99.99 at 1.0-1.6 ms, 4 MiB ones at 3.1 ms
		// (decisions.md).
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

// roundUp rounds x up to a whole block, or to the largest offset when
// that would overflow.
func (ino *Inode) roundUp(x int64) int64 {
	if x > maxOffset-ino.Block {
		return maxOffset
	}
	return (x + ino.Block - 1) / ino.Block * ino.Block
}

// roundDownCapped is target rounded down to a whole block, but never
// below need.
func (ino *Inode) roundDownCapped(target, need int64) int64 {
	return max(target/ino.Block*ino.Block, need)
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
// count: zeros written ahead would be freed at every commit. Mu is held.
func (ino *Inode) zeroAheadLocked(from int64) bool {
	last := ino.LastSyncData.Load()
	a := max(ino.Align.Offset, 1)
	return last != 0 && time.Since(time.Unix(0, last)) < time.Second && from%a == 0
}

// zeroFillLocked writes zeros over [off, off+n), growing the kernel's
// size to cover it, and notes it in the map as written storage. A write
// that fails part of the way puts the size back, as a failed fallocate
// does. Mu is held.
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

// fallocateLocked preallocates [off, off+n), growing the kernel's size to
// cover it, and notes it in the map. A fallocate that fails may still have
// changed the file: ext4 raises the size of a file even when it runs out
// of space part of the way, and keeps what it allocated below the old
// size. So a failure puts the size back (RestoreSizeLocked) before it is
// returned, and the runtime's idea of the file stays the truth. Mu is
// held.
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

// maxOffset stands for "the end of every file".
const maxOffset = int64(1<<63 - 1)
