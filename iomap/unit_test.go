package iomap

import (
	"errors"
	"testing"
)

// TestUnitKnownZero walks blocks of layoutFile's map: written [0, 16K),
// hole [16K, 32K), unwritten [32K, 48K), the kernel's size 48K. A block is
// known zero only if all of it reads as zeros, and a "block" that mixes
// data and zeros away from the kernel's size (what a block size larger
// than the filesystem's makes of a real map) is a BadMappingError, never
// a zero-fill.
func TestUnitKnownZero(t *testing.T) {
	p := newFileProvider(t, layoutFile(t))
	var it Iter
	type unitCase struct {
		off, block int64
		zero, bad  bool
	}
	cases := []unitCase{
		{0, 4 * kib, false, false},        // written
		{16 * kib, 4 * kib, true, false},  // hole
		{32 * kib, 4 * kib, true, false},  // unwritten
		{48 * kib, 4 * kib, true, false},  // past the kernel's size
		{16 * kib, 32 * kib, true, false}, // hole then unwritten: all zeros
		{0, 32 * kib, false, false},       // data, then a hole at 16K
		{32 * kib, 64 * kib, true, false}, // unwritten, then past the end at 48K
	}
	check := func(c unitCase) {
		t.Helper()
		zero, err := UnitKnownZero(&it, p, c.off, c.block)
		var bad *BadMappingError
		if c.bad != errors.As(err, &bad) || (!c.bad && err != nil) {
			t.Errorf("block %d, [%d, +%d): error %v, want bad mapping %v", p.blockSize, c.off, c.block, err, c.bad)
			return
		}
		if !c.bad && zero != c.zero {
			t.Errorf("block %d, [%d, +%d): known zero %v, want %v", p.blockSize, c.off, c.block, zero, c.zero)
		}
	}
	for _, c := range cases {
		check(c)
	}
	real := p.blockSize
	p.blockSize = 32 * kib
	check(unitCase{0, 32 * kib, false, true})
	p.blockSize = real
	// Data that stops at the kernel's size inside a block: the block holds
	// data (read it), and that is no contract break.
	p.NoteKernelSize(1000)
	if zero, err := UnitKnownZero(&it, p, 0, 4*kib); err != nil || zero {
		t.Errorf("block of data ending at the size 1000: zero %v, error %v; want false, nil", zero, err)
	}
}
