package bio

import "github.com/nowaitio/nowait/ring"

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

// Segment is the memory of a bio: the caller's, or a bounce buffer.
type Segment struct {
	Buf    []byte
	ReqOff int64 // where Buf starts within the request's byte range

	// When the user's memory was not aligned, Buf is a bounce buffer from
	// the Builder's pool and User the user's memory: written data was
	// copied in at Add; read data is copied out by Complete, from Buf[From:]
	// (an edge read: a whole unit read for the part of it User wants).
	User   []byte
	From   int64
	bounce Buffer
}

// Bounced reports whether the segment goes through a bounce buffer.
func (s *Segment) Bounced() bool { return s.User != nil }

// EdgeRead is a bio that reads the whole unit [off, off+unit.B's length)
// into unit, a pool buffer, for the bytes of it user wants, which start
// at from in the unit (copied out by Complete).
func EdgeRead(file int32, flags Flags, off int64, unit Buffer, user []byte, from int64) Bio {
	return Bio{Op: OpRead, File: file, Flags: flags, Offset: off, Len: int64(len(unit.B)), BufIndex: NoFixedBuffer,
		Seg: Segment{Buf: unit.B, User: user, From: from, bounce: unit}}
}

// PaddedWrite is a bio that writes user from off and zeros after it to
// the end of unit, a pool buffer user is copied into now: the last unit
// of a write, past whose end no data lies.
func PaddedWrite(file int32, flags Flags, off int64, unit Buffer, user []byte) Bio {
	k := copy(unit.B, user)
	clear(unit.B[k:])
	return Bio{Op: OpWrite, File: file, Flags: flags, Offset: off, Len: int64(len(unit.B)), BufIndex: NoFixedBuffer,
		Seg: Segment{Buf: unit.B, User: user, bounce: unit}}
}

// Short reports whether a completion of n bytes (n >= 0) brought less
// than the bio was for: the whole bio, or for an edge read the bytes its
// user wants.
func (b *Bio) Short(n int64) bool {
	if b.Seg.User != nil && b.Op == OpRead {
		return n < b.Seg.From+int64(len(b.Seg.User))
	}
	return n < b.Len
}

// Bio is one kernel request: a read or write of contiguous file (or device)
// bytes from one segment of memory.
type Bio struct {
	Op        Op
	File      int32 // descriptor, or fixed-file index when FixedFile
	FixedFile bool
	Flags     Flags
	Offset    int64 // device (file) offset
	Len       int64 // bytes: len(Seg.Buf)
	BufIndex  int   // registered buffer holding the segment, or NoFixedBuffer
	Seg       Segment
}

// End is the offset just past the bio.
func (b *Bio) End() int64 { return b.Offset + b.Len }

// Prep fills the submission entry s for this bio: a plain or fixed-buffer
// read or write.
func (b *Bio) Prep(s *ring.SQE) {
	fd, off, rw := b.File, uint64(b.Offset), uint32(b.Flags)
	switch {
	case b.BufIndex != NoFixedBuffer && b.Op == OpRead:
		s.PrepReadFixed(fd, b.Seg.Buf, off, uint16(b.BufIndex), rw)
	case b.BufIndex != NoFixedBuffer:
		s.PrepWriteFixed(fd, b.Seg.Buf, off, uint16(b.BufIndex), rw)
	case b.Op == OpRead:
		s.PrepRead(fd, b.Seg.Buf, off, rw)
	default:
		s.PrepWrite(fd, b.Seg.Buf, off, rw)
	}
	if b.FixedFile {
		s.UseFixedFile(fd)
	}
}

// Complete finishes a bio whose completion reported n bytes (n < 0: an
// error, nothing transferred): for a read through a bounce buffer, the
// bytes that arrived are copied to the user's memory, and the bounce
// buffer goes back to pool. Call it exactly once per bio, after its CQE is
// reaped and never before: the kernel writes into the buffer until then.
func (b *Bio) Complete(pool *Pool, n int64) error {
	s := &b.Seg
	if !s.Bounced() {
		return nil
	}
	if got := n - s.From; b.Op == OpRead && got > 0 {
		copy(s.User, s.Buf[s.From:s.From+min(got, int64(len(s.User)))])
	}
	err := pool.Put(s.bounce)
	s.bounce, s.User = Buffer{}, nil
	return err
}
