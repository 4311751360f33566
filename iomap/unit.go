package iomap

// The unit contract. A filesystem allocates and zeroes whole blocks of
// BlockSize bytes: a block is all data or all zeros (a hole, unwritten
// storage), and the kernel's size is the one place where data may stop
// inside a block (the rest of that block reads as zeros because it lies
// past the end). A read-modify-write that zero-fills a block instead of
// reading it relies on that; a provider whose map breaks it (a mapping
// that switches between data and zeros inside a block anywhere else, as a
// wrong block size makes it do) must stop the write, never turn it into a
// zero-fill over data.

// zeroType reports whether storage of type t reads as zeros.
func zeroType(t Type) bool { return t == TypeHole || t == TypeUnwritten }

// UnitKnownZero walks the unit [off, off+unit) with it and reports
// whether every byte of it is known to read as zeros (holes, unwritten
// storage, past the kernel's size), so that a write can fill the unit
// with zeros around its bytes instead of reading it. A unit may span
// several blocks (a direct-I/O alignment larger than the block) and mix
// data and zero blocks; a map that switches between data and zeros inside
// one of the provider's blocks, anywhere but at the kernel's size, breaks
// the contract and is a BadMappingError.
func UnitKnownZero(it *Iter, p Provider, off, unit int64) (bool, error) {
	_, kernel := p.Sizes()
	block := p.BlockSize()
	it.Reset(p, off, unit, Write)
	allZero, prevZero := true, false
	for first := true; it.Next(); first = false {
		m := it.Map
		zero := zeroType(m.Type)
		if !first && zero != prevZero && it.Pos()%block != 0 && it.Pos() != kernel {
			p := "data and zeros share one filesystem block"
			return false, &BadMappingError{Pos: off, Length: unit, Map: m, Problem: p}
		}
		allZero, prevZero = allZero && zero, zero
		it.Advance(it.Length())
	}
	if err := it.Err(); err != nil {
		return false, err
	}
	if it.Remaining() > 0 {
		return false, &BadMappingError{Pos: off, Length: unit, Map: it.Map, Problem: "the walk of a unit stopped short"}
	}
	return allZero, nil
}
