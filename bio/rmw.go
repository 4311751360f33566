package bio

import "fmt"

// UnitFunc says, for the storage at file offset pos, the unit the kernel
// can write there without blocking (a power of two: the direct-I/O
// alignment for written storage, the filesystem block for unwritten
// storage, holes and past the end), and whether all of that unit's
// current content is known to be zeros (so it need not be read: the
// plan zero-fills it). The contract: zero is true only when every byte
// of the aligned unit around pos reads as zeros, never because pos
// does; a unit that holds any data is read. An error (the map broke that
// contract: iomap.UnitKnownZero) stops the plan.
type UnitFunc func(pos int64) (unit int64, zero bool, err error)

// Edge is a unit at an end of a write that the write covers only in part:
// it is read (or zero-filled), the write's bytes are merged in, and the
// whole unit is written.
type Edge struct {
	Off, Len int64 // the unit(s): [Off, Off+Len), aligned
	ZeroFill bool  // the old content is known zeros: no read
	DataOff  int64 // where the write's bytes start inside the edge
	DataLen  int64 // how many of the write's bytes it holds
	ReqOff   int64 // where those bytes start inside the write
}

// End is the offset just past the edge.
func (e Edge) End() int64 { return e.Off + e.Len }

// Fill merges the write's bytes (req is the whole write's buffer) into
// unit, the edge's current content.
func (e Edge) Fill(unit, req []byte) {
	copy(unit[e.DataOff:e.DataOff+e.DataLen], req[e.ReqOff:e.ReqOff+e.DataLen])
}

// CopyOut copies a read's bytes out of unit, the edge's content as read,
// into req, the whole read's buffer: Fill in the other direction.
func (e Edge) CopyOut(unit, req []byte) {
	copy(req[e.ReqOff:e.ReqOff+e.DataLen], unit[e.DataOff:e.DataOff+e.DataLen])
}

// Range is a byte range [Off, Off+Len).
type Range struct{ Off, Len int64 }

// Plan is how a write of [Off, Off+Len) is done with aligned writes only.
type Plan struct {
	Off, Len int64
	// Edges: at most two (head and tail); one when the write lies inside
	// a single unit; none when it is aligned.
	Edges  [2]Edge
	NEdges int
	// Mid is the aligned middle, written straight from the request's
	// bytes at Mid.Off-Off (Len 0: none).
	Mid Range
}

// EdgeList returns the plan's edges.
func (p *Plan) EdgeList() []Edge { return p.Edges[:p.NEdges] }

// PlanWrite plans a write of length bytes at off.
func PlanWrite(off, length int64, unitAt UnitFunc) (Plan, error) {
	if off < 0 || length <= 0 {
		return Plan{}, fmt.Errorf("bio: cannot plan a write of %d bytes at %d", length, off)
	}
	end := off + length
	p := Plan{Off: off, Len: length}
	hu, hz, err := unitAt(off)
	if err != nil {
		return Plan{}, err
	}
	tu, tz, err := unitAt(end - 1)
	if err != nil {
		return Plan{}, err
	}
	if err := checkUnit(hu, off); err != nil {
		return Plan{}, err
	}
	if err := checkUnit(tu, end-1); err != nil {
		return Plan{}, err
	}
	var head, tail Edge
	hasHead, hasTail := off%hu != 0, end%tu != 0
	if hasHead {
		head = Edge{Off: off / hu * hu, Len: hu, ZeroFill: hz}
	}
	if hasTail {
		tail = Edge{Off: end / tu * tu, Len: tu, ZeroFill: tz}
	}
	if hasHead && hasTail && head.End() > tail.Off {
		// Both ends in the same unit (or overlapping units of different
		// sizes): one edge, read unless all of it is known zero.
		lo, hi := min(head.Off, tail.Off), max(head.End(), tail.End())
		head = Edge{Off: lo, Len: hi - lo, ZeroFill: hz && tz}
		hasTail = false
	}
	midLo, midHi := off, end
	if hasHead {
		midLo = min(head.End(), end)
		head.DataOff, head.ReqOff = off-head.Off, 0
		head.DataLen = min(head.End(), end) - off
		p.Edges[p.NEdges] = head
		p.NEdges++
	}
	if hasTail {
		midHi = max(tail.Off, off)
		tail.DataOff, tail.ReqOff = max(off, tail.Off)-tail.Off, max(off, tail.Off)-off
		tail.DataLen = end - max(off, tail.Off)
		p.Edges[p.NEdges] = tail
		p.NEdges++
	}
	if midHi > midLo {
		p.Mid = Range{midLo, midHi - midLo}
	}
	return p, nil
}

// PlanRead plans a read of length bytes at off with aligned reads only:
// each unaligned end is read as one whole unit (an Edge, never ZeroFill),
// whose part inside the request is copied out (CopyOut); the aligned
// middle is read in place. The ring path and the worker path both run it:
// the one implementation of unaligned read edges.
func PlanRead(off, length, unit int64) (Plan, error) {
	return PlanWrite(off, length, func(int64) (int64, bool, error) { return unit, false, nil })
}

// Pieces returns the plan's edges and its middle in file order, as
// ranges of the request's bytes: a reader that stops at the first short
// piece has read a prefix of the request. edge is the index of the edge a
// piece is, or -1 for the middle.
func (p *Plan) Pieces(dst []Piece) []Piece {
	for i, e := range p.EdgeList() {
		dst = append(dst, Piece{ReqOff: e.ReqOff, Len: e.DataLen, Edge: i})
	}
	if p.Mid.Len > 0 {
		dst = append(dst, Piece{ReqOff: p.Mid.Off - p.Off, Len: p.Mid.Len, Edge: -1})
	}
	for i := 1; i < len(dst); i++ { // at most three: insertion sort
		for j := i; j > 0 && dst[j].ReqOff < dst[j-1].ReqOff; j-- {
			dst[j], dst[j-1] = dst[j-1], dst[j]
		}
	}
	return dst
}

// Piece is one part of a plan, in the request's bytes.
type Piece struct {
	ReqOff, Len int64
	Edge        int // index into EdgeList, or -1 for the middle
}

func checkUnit(u, pos int64) error {
	if u <= 0 || u&(u-1) != 0 {
		return fmt.Errorf("bio: unit %d at %d is not a power of two", u, pos)
	}
	return nil
}
