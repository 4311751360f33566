package iomap

import "fmt"

// Type says what one byte range of a file is (after the kernel's IOMAP_*
// types).
type Type uint8

const (
	// TypeNone is no mapping: a SrcMap of TypeNone means "read from Map".
	TypeNone Type = iota
	// TypeHole has no storage: reads return zeros; a write must allocate.
	TypeHole
	// TypeDelalloc has storage reserved but not placed (buffered data
	// waiting for writeback): direct I/O must flush it first.
	TypeDelalloc
	// TypeMapped is allocated and written: reads and overwrites go
	// straight to Addr.
	TypeMapped
	// TypeUnwritten is allocated but never written: reads return zeros; a
	// write converts it, and a write that covers only part of a
	// filesystem block makes the kernel zero the rest.
	TypeUnwritten
	// TypeInline is data stored with the metadata.
	TypeInline
)

var typeNames = [...]string{"none", "hole", "delalloc", "mapped", "unwritten", "inline"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Flags describe a mapping.
type Flags uint16

const (
	// FlagNew: the storage is new (allocated for this write).
	FlagNew Flags = 1 << iota
	// FlagShared: the storage is shared with another file (a write must
	// copy first).
	FlagShared
	// FlagDirty: the file's metadata must be synced for the data to be
	// durable (an fdatasync is not enough).
	FlagDirty
	// FlagSizeChanged: the write changes the file's size.
	FlagSizeChanged
	// FlagStale: the body found the mapping out of date; the iterator maps
	// the same position again instead of stopping.
	FlagStale
	// FlagKnownZero: the provider knows these bytes read as zeros (past the
	// logical size, or preallocated by the runtime and never written), so
	// a read can be answered without device I/O.
	FlagKnownZero
	// FlagPastSize: the range lies at or past the logical size.
	FlagPastSize
)

// ReqFlags say what the caller of Begin means to do with the range.
type ReqFlags uint16

const (
	// Write: the range will be written (otherwise read).
	Write ReqFlags = 1 << iota
	// Zero: the range will be zeroed.
	Zero
	// Report: the mapping is only reported (FIEMAP, SEEK_DATA).
	Report
	// Direct: the I/O bypasses the page cache.
	Direct
	// NoWait: Begin must not block, and must refuse (with an error that
	// errors.Is syscall.EAGAIN) a range the kernel could not write without
	// blocking.
	NoWait
	// OverwriteOnly: only pure overwrites of written storage are allowed;
	// anything else is refused with an EAGAIN error.
	OverwriteOnly
	// Unshare: shared storage must be unshared.
	Unshare
	// Atomic: the write must be done untorn, as one unit.
	Atomic
)

// Iomap is one mapping: what the range [Offset, Offset+Length) of a file is.
type Iomap struct {
	Offset int64 // file offset of the mapping
	Length int64 // bytes
	// Addr is where the range lives on the device: for a file on a kernel
	// filesystem the file offset itself (the kernel does the rest), for a
	// block device the device offset. Meaningless for holes.
	Addr  int64
	Type  Type
	Flags Flags
	// ValidityCookie is the provider's generation of its map when it made
	// this mapping; a provider that implements Validator compares it with
	// its current one.
	ValidityCookie uint64
}

// End is the offset just past the mapping.
func (m Iomap) End() int64 { return m.Offset + m.Length }

// AddrOf is the device address of file offset pos inside the mapping.
func (m Iomap) AddrOf(pos int64) int64 { return m.Addr + (pos - m.Offset) }

func (m Iomap) String() string {
	return fmt.Sprintf("%s [%d, %d) addr %d flags %#x cookie %d", m.Type, m.Offset, m.End(), m.Addr, m.Flags, m.ValidityCookie)
}

// Ops is a mapping provider (the kernel's iomap_ops).
//
// Begin maps the range that starts at pos, of at most length bytes. The
// mapping it returns must start at or before pos and cover pos; it may end
// before pos+length (the iterator then calls Begin again for the rest) or
// after. srcmap, when its Type is not TypeNone, is where to read existing
// data from when a write must copy first (copy-on-write, read-modify-write).
// Under NoWait, Begin returns an error that errors.Is syscall.EAGAIN when
// the range cannot be done without blocking.
//
// End is called exactly once for each Begin that succeeded, with the part
// of the range the body processed (written bytes, for a write), also when
// the body failed.
type Ops interface {
	Begin(pos, length int64, flags ReqFlags) (m Iomap, srcmap Iomap, err error)
	End(pos, length, written int64, flags ReqFlags, m Iomap) error
}

// Provider is everything a runtime asks of a file's map: the mapping
// (Ops), the sizes and alignments, and the notes of what the runtime did to
// the file, which keep the map current. File and Device implement it; a
// runtime holds one and never asks which it is.
type Provider interface {
	Ops
	// Sizes returns the logical size (what the user sees) and the
	// kernel's size (which may run ahead of it).
	Sizes() (logical, kernel int64)
	// FixedSize reports that the size cannot change (a device): writes
	// past it are refused, nothing is extended, allocated or truncated.
	FixedSize() bool
	// BlockSize is the unit of allocation and zeroing.
	BlockSize() int64
	// Policy is what the filesystem's measured behaviour asks of the
	// runtime: NOWAIT writes or none, how storage grows ahead of appends.
	Policy() Policy
	// DIOAlign is the direct-I/O alignment of offsets and lengths, and of
	// memory.
	DIOAlign() (offset, memory int64)
	NoteWritten(off, n int64)
	NoteAllocated(off, n int64, keepSize bool)
	NoteLogicalEnd(end int64)
	NoteKernelSize(size int64)
	SetLogicalSize(size int64)
	// Refresh reads the map again from the kernel, after a call that
	// failed may have changed the file (a fallocate that ran out of space
	// part of the way). It may block.
	Refresh() error
}

// Validator is implemented by providers whose mappings can go stale while
// they are in use (the map changed under them). Valid reports whether m is
// still current.
type Validator interface {
	Valid(m Iomap) bool
}
