package bio

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/ring"
)

// AlignmentError says exactly what about an I/O is not aligned for direct
// I/O: the offset, the length or the memory address.
type AlignmentError struct {
	What  string // "offset", "length" or "memory"
	Value int64  // the offending value (an address for memory)
	Align int64  // the alignment required
}

func (e *AlignmentError) Error() string {
	if e.What == "memory" {
		return fmt.Sprintf("bio: memory at %#x is not aligned to %d bytes (off by %d)", e.Value, e.Align, e.Value%e.Align)
	}
	return fmt.Sprintf("bio: %s %d is not a multiple of %d (off by %d)", e.What, e.Value, e.Align, e.Value%e.Align)
}

// Alignment is what direct I/O on one file needs.
type Alignment struct {
	Offset int64 // file offsets and lengths: multiples of this (1: any)
	Memory int64 // buffer addresses: multiples of this (1: any)
}

// Check returns nil when an I/O of buf at off meets a, or an
// *AlignmentError naming the first thing that does not (offset, then
// length, then memory).
func (a Alignment) Check(off int64, buf []byte) error {
	switch {
	case a.Offset > 1 && off%a.Offset != 0:
		return &AlignmentError{"offset", off, a.Offset}
	case a.Offset > 1 && int64(len(buf))%a.Offset != 0:
		return &AlignmentError{"length", int64(len(buf)), a.Offset}
	case a.Memory > 1 && len(buf) > 0 && int64(addr(buf))%a.Memory != 0:
		return &AlignmentError{"memory", int64(addr(buf)), a.Memory}
	}
	return nil
}

// MemoryAligned reports whether buf starts at a multiple of a.Memory.
func (a Alignment) MemoryAligned(buf []byte) bool {
	return a.Memory <= 1 || len(buf) == 0 || int64(addr(buf))%a.Memory == 0
}

func addr(b []byte) uintptr { return ring.Addr(b) }

// AlignedBuffer returns size bytes of page-aligned Go memory (nil for
// size <= 0): I/O from and to it needs no bounce copy, since it meets
// every direct-I/O alignment. The garbage collector frees it.
func AlignedBuffer(size int) []byte {
	if size <= 0 {
		return nil
	}
	page := unix.Getpagesize()
	b := make([]byte, size+page)
	skip := (page - int(addr(b)%uintptr(page))) % page
	return b[skip : skip+size : skip+size]
}
