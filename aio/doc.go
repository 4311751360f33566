// Package aio is nowait's public API: an asynchronous I/O runtime on Linux
// io_uring whose Submit never blocks, with files that take any offset,
// length and memory alignment.
//
// # Basics
//
// New starts a Runtime: one shard per core (a ring and the submitter
// goroutine that owns it) and a few slow-path workers. Open opens a file
// with O_DIRECT. A Context is the io_setup/io_submit/io_getevents model:
// Submit queues IOCBs and returns at once (a full context accepts what fits
// and returns ErrWouldBlock), GetEvents collects Events. The blocking
// methods of File (ReadAt, WriteAt, Sync, SyncData) use pooled contexts, and
// File implements io.ReaderAt, io.WriterAt and io.Closer.
//
// An IOCB's Op is OpRead, OpWrite, OpFsync, OpFdatasync or OpAllocate (a
// preallocation of [Offset, Offset+Length), done by a worker with
// fallocate, that a database can submit without waiting for it).
//
// # Paths
//
// The shard maps each request (package iomap) and sends to the ring, with
// RWF_NOWAIT, what the kernel can do without blocking: reads inside the
// logical size (ranges known to be zeros are answered without I/O) and
// aligned overwrites of allocated storage. Everything else goes to a
// worker, which does the serialisation itself: appends extend the file
// ahead of the writes (fallocate in steps of 1 MiB doubling to 64 MiB, so
// that the next appends are overwrites; for a file synced with SyncData as
// it grows, a log, 1 MiB steps written with zeros, so that each commit's
// fdatasync converts no unwritten extent), unaligned writes become
// read-modify-writes of their edge units under an exclusive range lock
// (package bio), and a fast I/O the kernel refused with EAGAIN is retried
// without NOWAIT. Fast writes take the same range locks shared, without
// ever waiting: on a conflict they go to the worker.
//
// # Guarantees
//
// Writes to byte ranges that do not overlap never lose each other's data,
// whatever their alignment and timing. Submit waits for no lock another I/O
// holds, no system call that can block, and no device. Sync makes the data
// and the exact logical size durable (the append-ahead tail is cut back
// first); after a failed sync, every later sync of that File fails too.
// Bad input gets an error (ErrNilIOCB, ErrUnknownOp, ErrNegativeOffset, ...)
// and changes nothing; a closed File, Context or Runtime each has its own
// error (ErrClosed, ErrContextClosed, ErrRuntimeClosed), and each errors.Is
// os.ErrClosed.
//
// # Handles of one file
//
// Everything that belongs to a file rather than to one handle of it lives
// in one state per inode (device and inode number), shared process-wide:
// every handle from Open, in this Runtime or another Runtime of the same
// process, uses the same descriptor, extent map, range locks, logical
// size, append-ahead, barrier ordering and sticky sync error. So two
// handles writing disjoint ranges never lose each other's data, a reader
// handle's Size is the writer's logical size (with io.EOF there, never
// the preallocated zeros), a barrier Sync through one handle waits for
// the writes of all, and a failed sync fails every handle's later syncs.
// A handle keeps only its access mode, O_APPEND and its closed state:
// O_RDONLY handles refuse writes (ErrReadOnly), O_WRONLY handles refuse
// reads (ErrWriteOnly), both errors.Is syscall.EBADF as os.File's are; an
// O_WRONLY handle still takes unaligned writes, since the runtime reads
// edges through its own descriptor (opened for reading and writing where
// the file's permissions allow it). With O_APPEND, Write appends at the
// logical end, atomically with respect to every other append to the file,
// and WriteAt is refused (ErrAppendWriteAt), as os.File refuses it.
// O_TRUNC truncates through the shared state. The file's last Close in
// the process cuts the append-ahead tail back and closes the descriptor;
// an Open of the file while that runs waits for it. A renamed file is
// still the same file; a file unlinked while open stays open through its
// handles, and a new file of the old name is a new inode, as in the
// kernel.
//
// # Other processes
//
// The shared state is this process's. Another process, or an os.File of
// the same file in this one, sees what the kernel has: before Sync or the
// file's last Close, the kernel's size may run ahead of the logical size
// by the append-ahead step (up to Config.AppendStepMax), and those bytes
// read as zeros; after Sync, and after the last Close, the size on disk
// is exactly the logical size. The runtime assumes no other process
// writes the file while it is open here (as a database assumes of its own
// files): such writes are not lost by the kernel, but the runtime's map
// may still call their range zeros, and its read-modify-writes are not
// serialised with them.
//
// # Caveats
//
// A buffer belongs to the runtime from Submit until its Event is returned.
// Without io_uring (an old kernel, kernel.io_uring_disabled, a seccomp
// profile that refuses io_uring_setup, or one that allows it and refuses
// io_uring_enter: every ring proves itself with a NOP round trip before it
// is used) BackendAuto falls back to blocking pread/pwrite workers with the
// same API and guarantees; Stats says which backend runs and why. The fast
// path allocates nothing per I/O.
package aio
