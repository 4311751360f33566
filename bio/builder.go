package bio

import (
	"errors"
	"fmt"
)

// DefaultMaxBytes is the default largest bio: big enough that a large
// request costs few submissions, small enough that one request does not
// monopolise the device queue.
const DefaultMaxBytes = 1 << 20

// Builder collects the bios of one request: Add splits each I/O at
// MaxBytes, checks its alignment and bounces memory that is not aligned;
// Bios returns them, one segment each, in the order added. (It once also
// merged contiguous bios into readv/writev, a plug across the requests of a
// batch; nothing placed more than one request per Builder, random I/O is
// never contiguous, and a merged bio refused with EAGAIN fails all its
// requests at once, so the merge was deleted: docs/decisions.md.)
//
// Owner: one goroutine (a ring's driver). A Builder is reused (Reset) and
// allocates nothing once its array has grown to the largest request.
type Builder struct {
	MaxBytes int64     // 0: DefaultMaxBytes; a multiple of Align.Offset
	Align    Alignment // what every Add must meet
	// Pool, when set, bounces memory that is not aligned to Align.Memory
	// instead of refusing it (see Segment.User and Bio.Complete).
	Pool *Pool

	pieces []Bio // one per Add (after splitting), in Add order
}

// Reset empties the builder for a new request, keeping its memory.
func (b *Builder) Reset() { b.pieces = b.pieces[:0] }

// Len is the number of pieces added since Reset.
func (b *Builder) Len() int { return len(b.pieces) }

func (b *Builder) maxBytes() int64 {
	if b.MaxBytes > 0 {
		return b.MaxBytes
	}
	return DefaultMaxBytes
}

// Add adds an I/O of buf at off (reqOff: where buf starts in the
// request). bufIndex is the registered buffer holding buf,
// or NoFixedBuffer. An I/O longer than MaxBytes becomes several bios.
// Memory that is not aligned goes through bounce buffers from Pool when
// one is set; other misalignment is an *AlignmentError. A failed Add adds
// nothing. ErrNoBounce says the pool is out of buffers for now.
func (b *Builder) Add(op Op, file int32, fixedFile bool, flags Flags, off int64, buf []byte, bufIndex int, reqOff int64) error {
	if len(buf) == 0 {
		return fmt.Errorf("bio: empty %v at %d", op, off)
	}
	if off < 0 {
		return fmt.Errorf("bio: negative offset %d", off)
	}
	bounce := false
	if err := b.Align.Check(off, buf); err != nil {
		var ae *AlignmentError
		if b.Pool == nil || !errors.As(err, &ae) || ae.What != "memory" || bufIndex != NoFixedBuffer {
			return err
		}
		bounce = true
	}
	maxBytes := b.maxBytes()
	if bounce {
		maxBytes = min(maxBytes, int64(b.Pool.MaxSize()))
	}
	mark := len(b.pieces)
	for len(buf) > 0 {
		n := min(int64(len(buf)), maxBytes)
		seg := Segment{Buf: buf[:n:n], ReqOff: reqOff}
		if bounce {
			bb, ok := b.Pool.Get(int(n))
			if !ok {
				b.undo(mark)
				return ErrNoBounce
			}
			seg.bounce, seg.User, seg.Buf = bb, seg.Buf, bb.B
			if op == OpWrite {
				copy(seg.Buf, seg.User)
			}
		}
		b.pieces = append(b.pieces, Bio{Op: op, File: file, FixedFile: fixedFile, Flags: flags,
			Offset: off, Len: n, BufIndex: bufIndex, Seg: seg})
		buf, off, reqOff = buf[n:], off+n, reqOff+n
	}
	return nil
}

// ErrNoBounce: every bounce buffer big enough is in use; retry when
// completions have returned some.
var ErrNoBounce = errors.New("bio: no bounce buffer free")

// undo drops the pieces added from mark on, returning their bounce buffers.
func (b *Builder) undo(mark int) {
	for i := mark; i < len(b.pieces); i++ {
		if b.pieces[i].Seg.Bounced() {
			b.Pool.Put(b.pieces[i].Seg.bounce)
		}
	}
	b.pieces = b.pieces[:mark]
}

// Bios returns the bios added since Reset, in the order added; valid until
// the next Reset or Add.
func (b *Builder) Bios() []Bio { return b.pieces }
