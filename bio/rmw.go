package bio

import "fmt"

// UnitFunc says, for the storage at file offset pos, the unit the kernel
// can write there without blocking (a power of two: the direct-I/O
// alignment for written storage, the filesystem block for unwritten
// storage, holes and past the end), and whether that unit's current content
// is known to be zeros (so it need not be read). Where its answer changes
// must be a multiple of every unit it returns: true of filesystems, whose
// extents start and end on filesystem blocks.
type UnitFunc func(pos int64) (unit int64, zero bool)

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

// AppendLocks appends the ranges to lock exclusively while the plan runs:
// the edge units, which the read-modify-write rewrites whole. The middle
// needs only the shared lock every write takes.
func (p *Plan) AppendLocks(dst []Range) []Range {
	for _, e := range p.EdgeList() {
		dst = append(dst, Range{e.Off, e.Len})
	}
	return dst
}

// NeedsRMW reports whether the write has an unaligned edge.
func (p *Plan) NeedsRMW() bool { return p.NEdges > 0 }

// PlanWrite plans a write of length bytes at off.
func PlanWrite(off, length int64, unitAt UnitFunc) (Plan, error) {
	if off < 0 || length <= 0 {
		return Plan{}, fmt.Errorf("bio: cannot plan a write of %d bytes at %d", length, off)
	}
	end := off + length
	p := Plan{Off: off, Len: length}
	hu, hz := unitAt(off)
	tu, tz := unitAt(end - 1)
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

func checkUnit(u, pos int64) error {
	if u <= 0 || u&(u-1) != 0 {
		return fmt.Errorf("bio: unit %d at %d is not a power of two", u, pos)
	}
	return nil
}
