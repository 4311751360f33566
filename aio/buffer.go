package aio

import "github.com/nowaitio/nowait/bio"

// AlignedBuffer returns size bytes of page-aligned memory. I/O from and to
// it needs no bounce copy: it meets every direct-I/O alignment. It is
// ordinary Go memory, freed by the garbage collector.
func AlignedBuffer(size int) []byte { return bio.AlignedBuffer(size) }
