// Package inode is the runtime's per-file state: everything that belongs
// to a file rather than to one handle of it, one Inode per file in the
// process, shared by every handle and every Runtime. It holds the
// descriptor all I/O goes through, the map (an iomap.Provider), the
// direct-I/O alignment, the range locks, the sizes and append-ahead, the
// barriers and the sticky sync error.
//
// # Who waits
//
// What a Submit uses here never waits: the map and sizes are read from
// an immutable snapshot (iomap.File), a fast write's shared range lock is
// taken with atomics or refused (RangeLock.TryShared), a barrier is
// queued without a lock (Barriers), the data end and the sync error are
// atomics. What may wait (exclusive range locks, extension, cut-back,
// truncation, fallocate) is called by workers and by the File methods
// that block anyway, under Mu.
//
// Errors carry the operation, file and offset (Error), and every system
// call of the slow path goes through one seam (Sys), which tests wrap to
// inject faults.
package inode
