package bio

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// DefaultMaxBytes is the default largest bio: big enough that a large
// request costs few submissions, small enough that one request does not
// monopolise the device queue.
const DefaultMaxBytes = 1 << 20

// DefaultMaxSegs bounds the iovecs of a merged bio (the kernel's UIO_MAXIOV
// is 1024).
const DefaultMaxSegs = 64

// Builder collects the bios of one batch (the kernel calls this a plug):
// Add splits each I/O at MaxBytes and checks its alignment; Finish sorts
// them and merges neighbours (same file, op and flags, contiguous
// offsets) into readv/writev bios of at most MaxBytes and MaxSegs.
//
// Owner: one goroutine (a shard's submitter). A Builder is reused across
// batches (Reset) and allocates nothing once its arrays have grown to the
// batch size.
type Builder struct {
	MaxBytes int64     // 0: DefaultMaxBytes; a multiple of Align.Offset
	MaxSegs  int       // 0: DefaultMaxSegs
	Align    Alignment // what every Add must meet
	// Pool, when set, bounces memory that is not aligned to Align.Memory
	// instead of refusing it (see Segment.User and Bio.Complete).
	Pool *Pool

	pieces []Bio     // one per Add (after splitting), in Add order
	segs   []Segment // backing store of the pieces' segments
	merged []Bio     // Finish's result
	mSegs  []Segment // backing store of the merged bios' segments
}

// Reset empties the builder for a new batch, keeping its memory.
func (b *Builder) Reset() {
	b.pieces, b.segs = b.pieces[:0], b.segs[:0]
	b.merged, b.mSegs = b.merged[:0], b.mSegs[:0]
}

// Len is the number of pieces added since Reset.
func (b *Builder) Len() int { return len(b.pieces) }

func (b *Builder) maxBytes() int64 {
	if b.MaxBytes > 0 {
		return b.MaxBytes
	}
	return DefaultMaxBytes
}

func (b *Builder) maxSegs() int {
	if b.MaxSegs > 0 {
		return b.MaxSegs
	}
	return DefaultMaxSegs
}

// Add adds an I/O of buf at off for request owner (reqOff: where buf
// starts in the request). bufIndex is the registered buffer holding buf,
// or NoFixedBuffer. An I/O longer than MaxBytes becomes several bios.
// Memory that is not aligned goes through bounce buffers from Pool when
// one is set; other misalignment is an *AlignmentError. A failed Add adds
// nothing. ErrNoBounce says the pool is out of buffers for now.
func (b *Builder) Add(op Op, file int32, fixedFile bool, flags Flags, off int64, buf []byte, bufIndex int, owner uint64, reqOff int64) error {
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
		seg := Segment{Buf: buf[:n:n], Owner: owner, ReqOff: reqOff}
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
		b.segs = append(b.segs, seg)
		b.pieces = append(b.pieces, Bio{Op: op, File: file, FixedFile: fixedFile, Flags: flags,
			Offset: off, Len: n, BufIndex: bufIndex})
		buf, off, reqOff = buf[n:], off+n, reqOff+n
	}
	return nil
}

// ErrNoBounce: every bounce buffer big enough is in use; retry when
// completions have returned some.
var ErrNoBounce = errors.New("bio: no bounce buffer free")

// undo drops the pieces added from mark on, returning their bounce buffers.
func (b *Builder) undo(mark int) {
	for i := mark; i < len(b.segs); i++ {
		if b.segs[i].Bounced() {
			b.Pool.Put(b.segs[i].bounce)
		}
	}
	b.pieces, b.segs = b.pieces[:mark], b.segs[:mark]
}

// Finish sorts the pieces and merges contiguous ones; the result is valid
// until the next Reset or Add. Pieces in registered buffers are not merged
// (a fixed-buffer read or write takes one segment).
func (b *Builder) Finish() []Bio {
	for i := range b.pieces {
		b.pieces[i].Segs = b.segs[i : i+1]
	}
	slices.SortStableFunc(b.pieces, comparePieces)
	b.merged, b.mSegs = b.merged[:0], b.mSegs[:0]
	maxBytes, maxSegs := b.maxBytes(), b.maxSegs()
	lastSegs := 0 // segments in the last merged bio
	for i := range b.pieces {
		p := &b.pieces[i]
		b.mSegs = append(b.mSegs, p.Segs[0])
		if n := len(b.merged); n > 0 && lastSegs < maxSegs && canMerge(&b.merged[n-1], p, maxBytes) {
			b.merged[n-1].Len += p.Len
			lastSegs++
			continue
		}
		m := *p
		m.Segs = nil
		b.merged = append(b.merged, m)
		lastSegs = 1
	}
	// Point each merged bio at its run of segments, now that mSegs will
	// not grow again.
	k := 0
	for i := range b.merged {
		n := segCount(&b.merged[i], b.mSegs[k:])
		b.merged[i].Segs = b.mSegs[k : k+n : k+n]
		k += n
	}
	return b.merged
}

// segCount is how many segments, from the front of segs, make up m.Len.
func segCount(m *Bio, segs []Segment) int {
	var total int64
	for i := range segs {
		total += int64(len(segs[i].Buf))
		if total >= m.Len {
			return i + 1
		}
	}
	return len(segs)
}

func comparePieces(x, y Bio) int {
	return cmp.Or(cmp.Compare(x.File, y.File), cmpBool(x.FixedFile, y.FixedFile),
		cmp.Compare(x.Op, y.Op), cmp.Compare(x.Flags, y.Flags), cmp.Compare(x.Offset, y.Offset))
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

func canMerge(last, p *Bio, maxBytes int64) bool {
	return last.File == p.File && last.FixedFile == p.FixedFile && last.Op == p.Op && last.Flags == p.Flags &&
		last.BufIndex == NoFixedBuffer && p.BufIndex == NoFixedBuffer &&
		last.End() == p.Offset && last.Len+p.Len <= maxBytes
}
