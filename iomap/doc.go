// Package iomap says what a byte range of a file is, and whether the kernel
// can write it without blocking, after the kernel's fs/iomap.
//
// # Basics
//
// An Iomap describes one range: its Type (Hole, Delalloc, Mapped,
// Unwritten, Inline), Flags, the device address and a validity cookie. A
// provider (Ops) answers Begin(pos, length, flags) with the mapping that
// covers pos, and End once the body is done with it. Iter runs the loop
// over a whole request (Reset, Next, Length, Advance, Err), checking the
// contract: a mapping must cover pos, the body never advances past it, End
// follows every successful Begin exactly once, and a round without
// progress stops the walk unless the mapping went stale.
//
// Under the NoWait request flag, Begin refuses what the kernel would block
// on, with an error that errors.Is syscall.EAGAIN and says why: ErrExtends
// (a write past the kernel's size), ErrAllocates (a hole), ErrSubBlock (part
// of a filesystem block of unwritten storage), ErrDelalloc, ErrShared,
// ErrUnknownMap. The caller sends what is refused to a worker, which calls
// Begin again without NoWait.
//
// # Providers
//
// A Provider is what a runtime holds for one file: Ops, its sizes and
// alignments, whether its size is fixed, and the notes that keep the map
// current. The runtime never asks which kind it has.
//
// File maps a file on a kernel filesystem from the runtime's own knowledge
// (logical size, kernel size, what it allocated and wrote: NoteAllocated,
// NoteWritten, NoteKernelSize, SetLogicalSize) and FIEMAP, read when the
// file is opened and again on Refresh. Device maps a block device or a
// fully written fixed-size file: the identity, always Mapped.
//
// # Caveats
//
// FlagKnownZero (a read can be answered with zeros, without device I/O) is
// claimed only past the logical size and for ranges the runtime allocated
// and never wrote; it assumes no other process writes the file. A wrong
// NoWait answer costs an EAGAIN from the kernel, never wrong data: the
// kernel checks every RWF_NOWAIT write itself. Begin, End and Iter allocate
// nothing with a warm map.
package iomap
