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
// # Paths
//
// The shard maps each request (package iomap) and sends to the ring, with
// RWF_NOWAIT, what the kernel can do without blocking: reads inside the
// logical size (ranges known to be zeros are answered without I/O) and
// aligned overwrites of allocated storage. Everything else goes to a
// worker, which does the serialisation itself: appends extend the file
// ahead of the writes (fallocate in steps of 1 MiB doubling to 64 MiB, so
// that the next appends are overwrites), unaligned writes become
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
// and changes nothing; anything used after Close gets an error that
// errors.Is os.ErrClosed.
//
// # Caveats
//
// A buffer belongs to the runtime from Submit until its Event is returned.
// Without io_uring (an old kernel, kernel.io_uring_disabled, a seccomp
// profile) BackendAuto falls back to blocking pread/pwrite workers with the
// same API and guarantees; Stats says which backend runs and why. The fast
// path allocates nothing per I/O.
package aio
