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
		m := newExtentMap()
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
			var all []extent
			m.each(func(e extent) { all = append(all, e) })
			for k := 0; k+1 < len(all); k++ {
				a, b := all[k], all[k+1]
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

// TestCloneIsASnapshot: a clone keeps the map as it was when it was made,
// however the original is changed after: File publishes clones to readers
// that hold no lock, while the writers go on changing their own tree.
func TestCloneIsASnapshot(t *testing.T) {
	seed := uint64(rand.Int64())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	const units = 300
	m := newExtentMap()
	type frozen struct {
		snap  extentMap
		model [units]extent
	}
	var model [units]extent
	var snaps []frozen
	for op := 0; op < 400; op++ {
		off := rng.Int64N(units)
		end := off + 1 + rng.Int64N(min(units-off, 20))
		typ := []Type{TypeHole, TypeMapped, TypeUnwritten}[rng.IntN(3)]
		m.set(off, end, typ, 0)
		for u := off; u < end; u++ {
			model[u] = extent{typ: typ}
		}
		if op%10 == 0 {
			snaps = append(snaps, frozen{m.clone(), model})
		}
	}
	for i, s := range snaps {
		for u := int64(0); u < units; u++ {
			got, want := s.snap.lookup(u, units).typ, s.model[u].typ
			if want == 0 {
				want = TypeHole
			}
			if got != want {
				t.Fatalf("seed %d: snapshot %d changed after it was taken: unit %d is %v, was %v", seed, i, u, got, want)
			}
		}
	}
}
