// Package aio is nowait's public API: an asynchronous I/O runtime on Linux
// io_uring whose Submit never waits, with files that take any offset,
// length and memory alignment.
//
// # Basics
//
// New starts a Runtime; Open opens a file with O_DIRECT. A Context is the
// io_setup/io_submit/io_getevents model: Submit queues IOCBs and returns
// at once (a full context accepts what fits and returns ErrWouldBlock),
// GetEvents collects Events. File implements io.ReaderAt, io.WriterAt,
// io.Writer (O_APPEND) and io.Closer; its blocking methods share one ring
// per P. OpAllocate preallocates without waiting for it.
//
// # Paths
//
// Submit checks, routes and queues: it takes no lock that another I/O, a
// completion or a worker holds, and makes no system call but wake-ups.
// GetEvents (or the runtime's helper, for a Context whose user is busy)
// maps what is queued, sends what the kernel can do without blocking to
// the ring with RWF_NOWAIT, and submits and waits in one io_uring_enter.
// Workers do the rest, serialising it themselves: appends extend the
// file ahead, unaligned writes read-modify-write their edge units under
// an exclusive range lock, what the kernel refused with EAGAIN is retried
// without RWF_NOWAIT. docs/architecture.md follows a request through it.
//
// # Guarantees
//
// Writes to byte ranges that do not overlap never lose each other's data,
// whatever their alignment and timing. Sync makes the data and the exact
// logical size durable; after a failed sync, every later sync of the file
// fails too. Bad input gets an error (ErrNilIOCB, ErrNegativeOffset, ...)
// and changes nothing; a closed File, Context or Runtime each has its
// own error, and each errors.Is os.ErrClosed.
//
// # Handles of one file
//
// Every handle of a file in the process, from any Runtime, shares one
// state per inode: descriptor, map, range locks, logical size,
// append-ahead, barriers and the sticky sync error. A handle keeps its
// access mode (ErrReadOnly, ErrWriteOnly: both errors.Is syscall.EBADF),
// O_APPEND (Write appends atomically; WriteAt is refused) and its closed
// state. The last Close cuts the append-ahead tail back.
//
// # Other processes
//
// Another process sees what the kernel has: before Sync or the last
// Close, the size may run ahead of the logical size by the append-ahead
// step, those bytes reading as zeros. The runtime assumes no other
// process writes the file while it is open here.
//
// # Caveats
//
// A buffer belongs to the runtime from Submit until its Event is returned.
// Without a working io_uring (an old kernel, io_uring_disabled, a seccomp
// profile) or without IORING_REGISTER_SEND_MSG_RING (Linux 6.13),
// BackendAuto falls back to blocking pread/pwrite workers with the same
// API and guarantees; Stats says which backend runs and why.
package aio
