package iomap

import "sort"

// extent is one classified range [off, end) of a file.
type extent struct {
	off, end int64
	typ      Type
	flags    Flags // FlagShared, FlagKnownZero
}

// extentMap is a sorted list of non-overlapping extents; gaps are holes.
// Owner: whoever holds the provider's lock.
type extentMap struct {
	ext []extent
}

// find returns the index of the first extent that ends after pos.
func (m *extentMap) find(pos int64) int {
	return sort.Search(len(m.ext), func(i int) bool { return m.ext[i].end > pos })
}

// lookup describes pos: the extent containing it, or the hole around it as
// [holeStart, holeEnd) with holeEnd = limit when no extent follows.
func (m *extentMap) lookup(pos, limit int64) extent {
	i := m.find(pos)
	if i < len(m.ext) && m.ext[i].off <= pos {
		return m.ext[i]
	}
	h := extent{off: 0, end: limit, typ: TypeHole}
	if i > 0 {
		h.off = m.ext[i-1].end
	}
	if i < len(m.ext) {
		h.end = m.ext[i].off
	}
	return h
}

// set classifies [off, end) as typ with flags, replacing what was there;
// TypeHole without flags removes the range (a plain gap is a hole); a hole
// the provider knows reads as zeros is kept with its flag. Neighbours of
// the same kind are merged.
func (m *extentMap) set(off, end int64, typ Type, flags Flags) {
	if off >= end {
		return
	}
	i := m.find(off)
	j := i
	var keep []extent // at most two: the cut-off ends of the first and last overlapped extents
	var buf [3]extent
	keep = buf[:0]
	for j < len(m.ext) && m.ext[j].off < end {
		e := m.ext[j]
		if e.off < off {
			keep = append(keep, extent{e.off, off, e.typ, e.flags})
		}
		if e.end > end {
			keep = append(keep, extent{end, e.end, e.typ, e.flags})
		}
		j++
	}
	var repl [3]extent
	r := repl[:0]
	for _, k := range keep {
		if k.end <= off {
			r = append(r, k)
		}
	}
	if typ != TypeHole || flags != 0 {
		r = append(r, extent{off, end, typ, flags})
	}
	for _, k := range keep {
		if k.off >= end {
			r = append(r, k)
		}
	}
	m.splice(i, j, r)
	m.mergeAround(i, len(r))
}

// splice replaces m.ext[i:j] with r.
func (m *extentMap) splice(i, j int, r []extent) {
	delta := len(r) - (j - i)
	if delta > 0 {
		m.ext = append(m.ext, make([]extent, delta)...)
		copy(m.ext[j+delta:], m.ext[j:len(m.ext)-delta])
	} else if delta < 0 {
		copy(m.ext[j+delta:], m.ext[j:])
		m.ext = m.ext[:len(m.ext)+delta]
	}
	copy(m.ext[i:], r)
}

// mergeAround merges contiguous extents of the same kind in m.ext[i-1 : i+n+1].
func (m *extentMap) mergeAround(i, n int) {
	lo, hi := max(i-1, 0), min(i+n+1, len(m.ext))
	for k := lo; k+1 < hi; {
		a, b := m.ext[k], m.ext[k+1]
		if a.end == b.off && a.typ == b.typ && a.flags == b.flags {
			m.ext[k].end = b.end
			m.ext = append(m.ext[:k+1], m.ext[k+2:]...)
			hi--
			continue
		}
		k++
	}
}

// truncate drops everything at or past size.
func (m *extentMap) truncate(size int64) { m.set(size, maxOffset, TypeHole, 0) }

// markHoles turns the holes in [lo, hi) into typ, known to read as zeros;
// the rest of the range is left as it is.
func (m *extentMap) markHoles(lo, hi int64, typ Type) {
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
