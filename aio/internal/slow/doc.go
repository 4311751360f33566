// Package slow is the runtime's slow path: worker goroutines that do,
// with blocking system calls, what the ring cannot do without blocking:
// appends (extension ahead of them: inode.ExtendLocked), writes into
// holes, read-modify-writes of unaligned edges under an exclusive range
// lock, fsync after the append-ahead tail is cut back, preallocation,
// and every request the kernel refused with EAGAIN. With the syscall
// backend (no io_uring) it does every request.
package slow
