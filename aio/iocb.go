package aio

// Op is what an IOCB asks for.
type Op uint8

const (
	OpRead      Op = iota + 1 // read len(Buf) bytes at Offset
	OpWrite                   // write Buf at Offset
	OpFsync                   // data and exact logical size durable (File.Sync)
	OpFdatasync               // data durable (File.SyncData)
	// OpAllocate preallocates [Offset, Offset+Length) (Length 0: len(Buf);
	// Buf is not touched), growing the file if that lies past its end, as
	// File.Allocate does: the new range reads as zeros, and later writes
	// into it are overwrites.
	OpAllocate
)

// opSpec is one row of the op table: what the rest of the runtime needs to
// know of an op, in one place. Adding an op is adding its row, its router
// case and its executor functions. The table is immutable.
type opSpec struct {
	name     string
	modifies bool // needs a handle opened for writing; counted by barriers as a write
	sync     bool // FlagBarrier orders it after earlier modifications
}

var opTable = [...]opSpec{
	OpRead:      {name: "read"},
	OpWrite:     {name: "write", modifies: true},
	OpFsync:     {name: "fsync", sync: true},
	OpFdatasync: {name: "fdatasync", sync: true},
	OpAllocate:  {name: "allocate", modifies: true},
}

func (o Op) valid() bool { return o >= OpRead && int(o) < len(opTable) }

func (o Op) spec() opSpec {
	if !o.valid() {
		return opSpec{name: "unknown-op"}
	}
	return opTable[o]
}

func (o Op) String() string { return o.spec().name }

// Flag modifies an IOCB.
type Flag uint8

const (
	// FlagBarrier on an fsync or fdatasync orders it after every write to
	// the same file submitted before it has completed (per file, not a
	// ring-wide drain).
	FlagBarrier Flag = 1 << iota
	// FlagDSync makes a write durable when it completes (RWF_DSYNC).
	FlagDSync
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
