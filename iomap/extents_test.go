package iomap

import (
	"math/rand/v2"
	"testing"
)

// TestExtentMapAgainstModel applies random set operations to the extent
// map and to a byte-per-unit model, and compares every unit after each.
func TestExtentMapAgainstModel(t *testing.T) {
	seed := uint64(rand.Int64())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	const units = 200
	for round := 0; round < 200; round++ {
		var m extentMap
		var model [units]extent // kind of each unit
		for u := range model {
			model[u].typ = TypeHole
		}
		for op := 0; op < 30; op++ {
			off := rng.Int64N(units)
			end := off + 1 + rng.Int64N(units-off)
			typ := []Type{TypeHole, TypeMapped, TypeUnwritten}[rng.IntN(3)]
			flags := Flags(0)
			if typ == TypeUnwritten && rng.IntN(2) == 0 {
				flags = FlagKnownZero
			}
			m.set(off, end, typ, flags)
			for u := off; u < end; u++ {
				model[u] = extent{typ: typ, flags: flags}
			}
			for u := int64(0); u < units; u++ {
				got := m.lookup(u, units)
				want := model[u]
				if got.typ != want.typ || (got.typ != TypeHole && got.flags != want.flags) || got.off > u || got.end <= u {
					t.Fatalf("seed %d round %d op %d: unit %d is %+v, want %v/%#x", seed, round, op, u, got, want.typ, want.flags)
				}
			}
			for k := 0; k+1 < len(m.ext); k++ {
				a, b := m.ext[k], m.ext[k+1]
				if a.end > b.off || a.off >= a.end {
					t.Fatalf("seed %d: extents overlap or are empty: %+v %+v", seed, a, b)
				}
				if a.end == b.off && a.typ == b.typ && a.flags == b.flags {
					t.Fatalf("seed %d: mergeable neighbours left apart: %+v %+v", seed, a, b)
				}
			}
		}
	}
}
