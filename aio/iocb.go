package aio

import "github.com/nowaitio/nowait/aio/internal/req"

// Op is what an IOCB asks for.
type Op = req.Op

const (
	OpRead      = req.OpRead      // read len(Buf) bytes at Offset
	OpWrite     = req.OpWrite     // write Buf at Offset
	OpFsync     = req.OpFsync     // data and exact logical size durable (File.Sync)
	OpFdatasync = req.OpFdatasync // data durable (File.SyncData)
	// OpAllocate preallocates [Offset, Offset+Length) (Length 0: len(Buf),
	// which is not touched), as File.Allocate does.
	OpAllocate = req.OpAllocate
)

// Flag modifies an IOCB.
type Flag = req.Flag

const (
	// FlagBarrier on an fsync or fdatasync orders it after every write to
	// the same file submitted before it has completed (per file, not a
	// ring-wide drain).
	FlagBarrier = req.FlagBarrier
	// FlagDSync makes a write durable when it completes (RWF_DSYNC).
	FlagDSync = req.FlagDSync
)

// IOCB is one I/O request, the io_submit iocb of this runtime. The caller
// owns it, and must not touch it or its Buf from Submit until its Event is
// returned by GetEvents.
type IOCB struct {
	Op       Op
	File     *File
	Buf      []byte // not touched by the caller until its Event is returned; empty: done at once, N 0
	Offset   int64
	Flags    Flag
	UserData uint64
	Length   int64 // OpAllocate: bytes to preallocate (0: len(Buf))

	appended bool // set by File.Write alone: Offset is the range it reserved
}

// Event is the completion of one IOCB: a value, the caller's once
// GetEvents has returned it.
type Event struct {
	IOCB *IOCB
	N    int   // bytes transferred; a read shorter than len(Buf) reached the end of the file
	Err  error // nil, or an *Error that errors.Is the errno (EIO, ENOSPC, ...)
}

// allocLength is how many bytes an OpAllocate IOCB asks for.
func allocLength(cb *IOCB) int64 {
	if cb.Length != 0 {
		return cb.Length
	}
	return int64(len(cb.Buf))
}
