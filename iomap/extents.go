package iomap

import "github.com/google/btree"

// extent is one classified range [off, end) of a file.
type extent struct {
	off, end int64
	typ      Type
	flags    Flags // FlagShared, FlagKnownZero
}

func extentLess(a, b extent) bool { return a.off < b.off }

// treeDegree: nodes of 15-31 extents (500-1,000 bytes): a copy-on-write
// update copies about three of them in a map of 30,000 extents.
const treeDegree = 16

// extentMap is a set of non-overlapping extents ordered by offset, in a
// B-tree; gaps are holes. Updates cost O(log n), where the sorted slice
// before it spliced O(n) extents: 512-byte writes into fallocate'd
// storage split a map into 20,000-33,000 extents, and every update moved
// them all (docs/decisions.md). Clone is O(1): the clone and the
// original share nodes, and a later update of either copies what it
// changes, which is how File publishes immutable snapshots.
//
// Owner: a map being updated belongs to one writer (File's writers'
// lock); a clone once published is never changed, and is read by anyone.
type extentMap struct {
	t *btree.BTreeG[extent]
}

func newExtentMap() extentMap { return extentMap{btree.NewG(treeDegree, extentLess)} }

// clone returns a copy that shares every node with m: m's next update
// copies what it changes, so the copy stays as it is.
func (m extentMap) clone() extentMap { return extentMap{m.t.Clone()} }

// len is the number of extents.
func (m extentMap) len() int { return m.t.Len() }

// lookup describes pos: the extent containing it, or the hole around it as
// [holeStart, holeEnd) with holeEnd = limit when no extent follows.
func (m extentMap) lookup(pos, limit int64) extent {
	prev, hasPrev := m.atOrBefore(pos)
	if hasPrev && prev.end > pos {
		return prev
	}
	h := extent{off: 0, end: limit, typ: TypeHole}
	if hasPrev {
		h.off = prev.end
	}
	if next, ok := m.after(pos); ok {
		h.end = next.off
	}
	return h
}

// atOrBefore is the last extent that starts at or before pos.
func (m extentMap) atOrBefore(pos int64) (extent, bool) {
	var e extent
	found := false
	m.t.DescendLessOrEqual(extent{off: pos}, func(x extent) bool {
		e, found = x, true
		return false
	})
	return e, found
}

// after is the first extent that starts after pos.
func (m extentMap) after(pos int64) (extent, bool) {
	var e extent
	found := false
	m.t.AscendGreaterOrEqual(extent{off: pos + 1}, func(x extent) bool {
		e, found = x, true
		return false
	})
	return e, found
}

// each calls f for every extent in order.
func (m extentMap) each(f func(e extent)) {
	m.t.Ascend(func(x extent) bool { f(x); return true })
}

// set classifies [off, end) as typ with flags, replacing what was there;
// TypeHole without flags removes the range (a plain gap is a hole); a hole
// the provider knows reads as zeros is kept with its flag. Neighbours of
// the same kind are merged.
func (m extentMap) set(off, end int64, typ Type, flags Flags) {
	if off >= end {
		return
	}
	// The extents that overlap [off, end): the one around off, if any,
	// and every one that starts inside.
	var over []extent
	if e, ok := m.atOrBefore(off); ok && e.end > off {
		over = append(over, e)
	}
	m.t.AscendRange(extent{off: off + 1}, extent{off: end}, func(x extent) bool {
		over = append(over, x)
		return true
	})
	for _, e := range over {
		m.t.Delete(e)
	}
	if n := len(over); n > 0 {
		if first := over[0]; first.off < off {
			m.t.ReplaceOrInsert(extent{first.off, off, first.typ, first.flags})
		}
		if last := over[n-1]; last.end > end {
			m.t.ReplaceOrInsert(extent{end, last.end, last.typ, last.flags})
		}
	}
	if typ == TypeHole && flags == 0 {
		return
	}
	lo, hi := off, end
	if e, ok := m.atOrBefore(off - 1); ok && e.end == off && e.typ == typ && e.flags == flags {
		m.t.Delete(e)
		lo = e.off
	}
	if e, ok := m.t.Get(extent{off: end}); ok && e.typ == typ && e.flags == flags {
		m.t.Delete(e)
		hi = e.end
	}
	m.t.ReplaceOrInsert(extent{lo, hi, typ, flags})
}

// truncate drops everything at or past size.
func (m extentMap) truncate(size int64) { m.set(size, maxOffset, TypeHole, 0) }

// markHoles turns the holes in [lo, hi) into typ, known to read as zeros;
// the rest of the range is left as it is.
func (m extentMap) markHoles(lo, hi int64, typ Type) {
	for pos := lo; pos < hi; {
		e := m.lookup(pos, maxOffset)
		end := min(e.end, hi)
		if e.typ == TypeHole {
			m.set(pos, end, typ, FlagKnownZero)
		}
		pos = end
	}
}

// maxOffset stands for "the end of every file".
const maxOffset = int64(1<<63 - 1)
