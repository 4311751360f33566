package iomap

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Policy is what a filesystem's measured behaviour asks of the runtime
// (docs/decisions.md has the tables it comes from): whether to send
// writes to the kernel with RWF_NOWAIT at all, and how to grow a file's
// storage ahead of appends.
type Policy struct {
	Filesystem string // "ext4", "xfs", "btrfs", "tmpfs", "device", or statfs's f_type in hex
	// NoWaitWrites: the kernel can do a direct write without blocking
	// (an overwrite of written or unwritten storage, whole blocks). False
	// where it refuses every one (btrfs): Begin refuses them all under
	// NoWait, so that no write pays a trip to the kernel to be refused.
	NoWaitWrites bool
	Growth       Growth
}

// Growth is how a file's storage grows ahead of appends.
type Growth uint8

const (
	// GrowAhead preallocates (fallocate) a step ahead of appends, so that
	// appends are overwrites of unwritten storage, which the kernel does
	// without blocking; Sync and Close cut the unwritten tail back. ext4
	// and XFS free the cut-back blocks at once.
	GrowAhead Growth = iota
	// GrowByWrite preallocates nothing: writes extend the file themselves,
	// as os.File's do. For btrfs, which refuses every NOWAIT write (so
	// preallocating buys no fast path) and keeps a preallocated extent
	// whole on disk while any part of it is referenced (so each cut-back
	// strands up to one step of space: 3.2x os.File's space, measured).
	GrowByWrite
	// GrowFixed: the size cannot change (a device).
	GrowFixed
)

// policyOf is the policy for the filesystem statfs calls fsType.
func policyOf(fsType int64) Policy {
	switch fsType {
	case unix.BTRFS_SUPER_MAGIC:
		return Policy{Filesystem: "btrfs", NoWaitWrites: false, Growth: GrowByWrite}
	case unix.EXT4_SUPER_MAGIC:
		return Policy{Filesystem: "ext4", NoWaitWrites: true, Growth: GrowAhead}
	case unix.XFS_SUPER_MAGIC:
		return Policy{Filesystem: "xfs", NoWaitWrites: true, Growth: GrowAhead}
	case unix.TMPFS_MAGIC:
		return Policy{Filesystem: "tmpfs", NoWaitWrites: true, Growth: GrowAhead}
	}
	// Unmeasured: as ext4 and XFS. A wrong "fast" costs a refused trip to
	// the kernel, never wrong data.
	return Policy{Filesystem: fmt.Sprintf("f_type %#x", fsType), NoWaitWrites: true, Growth: GrowAhead}
}
