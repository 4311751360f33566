package aio

// Op is what an IOCB asks for.
type Op uint8

const (
	OpRead      Op = iota + 1 // read len(Buf) bytes at Offset
	OpWrite                   // write Buf at Offset
	OpFsync                   // data and exact logical size durable (File.Sync)
	OpFdatasync               // data durable (File.SyncData)
)

var opNames = [...]string{OpRead: "read", OpWrite: "write", OpFsync: "fsync", OpFdatasync: "fdatasync"}

func (o Op) String() string {
	if o >= OpRead && o <= OpFdatasync {
		return opNames[o]
	}
	return "unknown-op"
}

func (o Op) valid() bool { return o >= OpRead && o <= OpFdatasync }

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

	appended bool // set by File.Write alone: Offset is the range it reserved
}

// Event is the completion of one IOCB.
type Event struct {
	IOCB *IOCB
	N    int   // bytes transferred; a read shorter than len(Buf) reached the end of the file
	Err  error // nil, or an *Error that errors.Is the errno (EIO, ENOSPC, ...)
}
