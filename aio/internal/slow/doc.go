// Package slow is the runtime's slow path: workers that do with blocking
// system calls what the ring cannot do without blocking (appends and
// their extension, writes into holes, read-modify-writes of unaligned
// edges, fsync after a cut-back, preallocation, retries of what the
// kernel refused with EAGAIN), and every request on the syscall backend.
package slow
