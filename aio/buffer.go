package aio

import (
	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/ring"
)

// AlignedBuffer returns size bytes of page-aligned memory. I/O from and to
// it needs no bounce copy: it meets every direct-I/O alignment. It is
// ordinary Go memory, freed by the garbage collector.
func AlignedBuffer(size int) []byte {
	if size <= 0 {
		return nil
	}
	page := unix.Getpagesize()
	b := make([]byte, size+page)
	skip := (page - int(ring.Addr(b)%uintptr(page))) % page
	return b[skip : skip+size : skip+size]
}
