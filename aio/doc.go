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
// io.Writer (O_APPEND) and io.Closer; its blocking methods (ReadAt,
// WriteAt, Sync, SyncData) share one ring per P. An IOCB's Op is OpRead,
// OpWrite, OpFsync, OpFdatasync or OpAllocate (a preallocation, done by a
// worker, that a database can submit without waiting for it).
//
// # Paths
//
// Submit checks and routes each request, and queues it: on the
// Context's ring, or for a worker. It takes no lock that another I/O, a
// completion or a worker holds, and makes no system call but wake-ups.
// GetEvents places what is queued (it maps each request with package
// iomap and plans its kernel requests with package bio), submits it and
// waits in one io_uring_enter; the runtime's helper does the same for a
// Context whose user submits and then does something else. What the
// kernel can do without blocking goes to the ring with RWF_NOWAIT:
// reads inside the logical size (ranges known to be zeros are answered
// without I/O) and aligned overwrites of allocated storage. Everything
// else goes to a worker, which does the serialisation itself: appends
// extend the file ahead of the writes (fallocate in steps of 1 MiB
// doubling to 64 MiB; for a file synced with SyncData as it grows, a log,
// 1 MiB steps written with zeros, so that each commit's fdatasync
// converts no unwritten extent), unaligned writes become read-modify-
// writes of their edge units under an exclusive range lock, and a fast
// I/O the kernel refused with EAGAIN is retried without RWF_NOWAIT.
// docs/architecture.md follows a request through it.
//
// # Guarantees
//
// Writes to byte ranges that do not overlap never lose each other's data,
// whatever their alignment and timing. Sync makes the data and the exact
// logical size durable (the append-ahead tail is cut back first); after a
// failed sync, every later sync of that file fails too. Bad input gets an
// error (ErrNilIOCB, ErrUnknownOp, ErrNegativeOffset, ...) and changes
// nothing; a closed File, Context or Runtime each has its own error
// (ErrClosed, ErrContextClosed, ErrRuntimeClosed), and each errors.Is
// os.ErrClosed.
//
// # Handles of one file
//
// Everything that belongs to a file rather than to one handle of it lives
// in one state per inode, shared process-wide: every handle from Open, in
// this Runtime or another of the same process, uses the same descriptor,
// extent map, range locks, logical size, append-ahead, barrier ordering
// and sticky sync error. So two handles writing disjoint ranges never
// lose each other's data, a reader handle's Size is the writer's logical
// size, a barrier Sync through one handle waits for the writes of all,
// and a failed sync fails every handle's later syncs. A handle keeps only
// its access mode, O_APPEND and its closed state: O_RDONLY handles refuse
// writes (ErrReadOnly), O_WRONLY handles refuse reads (ErrWriteOnly), both
// errors.Is syscall.EBADF as os.File's are; an O_WRONLY handle still takes
// unaligned writes, since the runtime reads edges through its own
// descriptor. With O_APPEND, Write appends at the logical end, atomically
// with respect to every other append to the file, and WriteAt is refused
// (ErrAppendWriteAt). O_TRUNC truncates through the shared state. The
// file's last Close cuts the append-ahead tail back and closes the
// descriptor; an Open of the file meanwhile waits for it. A renamed file
// is still the same file; a new file of an unlinked one's name is a new
// inode.
//
// # Other processes
//
// Another process, or an os.File of the same file in this one, sees what
// the kernel has: before Sync or the file's last Close, the kernel's size
// may run ahead of the logical size by the append-ahead step (up to
// Config.AppendStepMax), and those bytes read as zeros; after Sync, and
// after the last Close, the size on disk is exactly the logical size. The
// runtime assumes no other process writes the file while it is open here
// (as a database assumes of its own files).
//
// # Caveats
//
// A buffer belongs to the runtime from Submit until its Event is returned.
// Without io_uring (an old kernel, kernel.io_uring_disabled, a seccomp
// profile that refuses io_uring_setup, or one that allows it and refuses
// io_uring_enter: every ring proves itself with a NOP round trip) or
// without IORING_REGISTER_SEND_MSG_RING (Linux 6.13), BackendAuto falls
// back to blocking pread/pwrite workers with the same API and guarantees;
// Stats says which backend runs and why. The fast path allocates nothing
// per I/O.
package aio
