package bio

import (
	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/ring"
)

// Op is the direction of a bio.
type Op uint8

const (
	OpRead Op = iota + 1
	OpWrite
)

func (o Op) String() string {
	switch o {
	case OpRead:
		return "read"
	case OpWrite:
		return "write"
	}
	return "op?"
}

// Flags are per-I/O flags of a bio, passed to the kernel as RWF_* flags.
type Flags uint32

const (
	NoWait Flags = Flags(ring.RWFNoWait) // refuse (EAGAIN) rather than block
	DSync  Flags = Flags(ring.RWFDSync)  // durable when complete (O_DSYNC for this write)
	Atomic Flags = Flags(ring.RWFAtomic) // untorn write
)

// NoFixedBuffer is the BufIndex of a bio whose memory is not a registered
// buffer.
const NoFixedBuffer = -1

// Segment is one piece of memory of a bio and the request it belongs to:
// a merged bio carries the segments of several requests.
type Segment struct {
	Buf    []byte
	Owner  uint64 // the request this memory belongs to (an index, never a pointer)
	ReqOff int64  // where Buf starts within that request's byte range

	// When the user's memory was not aligned, Buf is a bounce buffer from
	// the Builder's pool and User the user's memory: written data was
	// copied in at Add; read data is copied out by Complete.
	User   []byte
	bounce Buffer
}

// Bounced reports whether the segment goes through a bounce buffer.
func (s *Segment) Bounced() bool { return s.User != nil }

// Bio is one kernel request: a read or write of contiguous file (or device)
// bytes from one or more memory segments.
type Bio struct {
	Op        Op
	File      int32 // descriptor, or fixed-file index when FixedFile
	FixedFile bool
	Flags     Flags
	Offset    int64 // device (file) offset
	Len       int64 // total bytes, the sum of the segments
	BufIndex  int   // registered buffer holding the (single) segment, or NoFixedBuffer
	Segs      []Segment
}

// End is the offset just past the bio.
func (b *Bio) End() int64 { return b.Offset + b.Len }

// Prep fills the submission entry s for this bio. A bio of several segments
// becomes a readv/writev whose iovec array is written into iov (which must
// hold len(b.Segs) entries and stay in place until the submit returns); a
// single segment becomes a plain or fixed-buffer read/write.
func (b *Bio) Prep(s *ring.SQE, iov []unix.Iovec) {
	fd, off, rw := b.File, uint64(b.Offset), uint32(b.Flags)
	switch {
	case len(b.Segs) == 1 && b.BufIndex != NoFixedBuffer && b.Op == OpRead:
		s.PrepReadFixed(fd, b.Segs[0].Buf, off, uint16(b.BufIndex), rw)
	case len(b.Segs) == 1 && b.BufIndex != NoFixedBuffer:
		s.PrepWriteFixed(fd, b.Segs[0].Buf, off, uint16(b.BufIndex), rw)
	case len(b.Segs) == 1 && b.Op == OpRead:
		s.PrepRead(fd, b.Segs[0].Buf, off, rw)
	case len(b.Segs) == 1:
		s.PrepWrite(fd, b.Segs[0].Buf, off, rw)
	default:
		iov = iov[:len(b.Segs)]
		for i := range b.Segs {
			iov[i].Base = &b.Segs[i].Buf[0]
			iov[i].SetLen(len(b.Segs[i].Buf))
		}
		if b.Op == OpRead {
			s.PrepReadv(fd, iov, off, rw)
		} else {
			s.PrepWritev(fd, iov, off, rw)
		}
	}
	if b.FixedFile {
		s.UseFixedFile(fd)
	}
}

// Distribute splits a completion of n bytes (a short one included) among
// the bio's segments in order, calling fn with each segment's owner, its
// offset within the request and how many of its bytes were transferred.
func (b *Bio) Distribute(n int64, fn func(owner uint64, reqOff, done int64)) {
	for _, s := range b.Segs {
		done := min(n, int64(len(s.Buf)))
		n -= max(done, 0)
		fn(s.Owner, s.ReqOff, max(done, 0))
	}
}

// Complete finishes a bio whose completion reported n bytes (n < 0: an
// error, nothing transferred): for a read, the bytes that arrived in
// bounce buffers are copied to the user's memory; every bounce buffer goes
// back to pool. Call it exactly once per bio, after its CQE is reaped and
// never before: the kernel writes into the buffers until then.
func (b *Bio) Complete(pool *Pool, n int64) error {
	var first error
	for i := range b.Segs {
		s := &b.Segs[i]
		if !s.Bounced() {
			n -= int64(len(s.Buf))
			continue
		}
		if b.Op == OpRead && n > 0 {
			copy(s.User, s.Buf[:min(n, int64(len(s.Buf)))])
		}
		n -= int64(len(s.Buf))
		if err := pool.Put(s.bounce); err != nil && first == nil {
			first = err
		}
		s.bounce, s.User = Buffer{}, nil
	}
	return first
}
