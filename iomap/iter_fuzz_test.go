package iomap

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// randomOps maps with random extents and, now and then, breaks the
// contract of Begin.
type randomOps struct {
	rng    *rand.Rand
	badPct int
	begins int
	ends   int
	bad    bool // a bad mapping was handed out
}

func (r *randomOps) Begin(pos, length int64, flags ReqFlags) (Iomap, Iomap, error) {
	r.begins++
	start := pos - r.rng.Int64N(64)
	m := Iomap{Offset: max(start, 0), Length: 1 + r.rng.Int64N(200), Type: TypeMapped}
	if m.End() <= pos {
		m.Length = pos - m.Offset + 1 + r.rng.Int64N(100)
	}
	if r.rng.IntN(100) < r.badPct {
		r.bad = true
		switch r.rng.IntN(3) {
		case 0:
			m.Length = 0
		case 1:
			m.Offset = pos + 1 + r.rng.Int64N(10)
		case 2:
			m.Offset, m.Length = max(pos-10, 0), min(pos, 10) // ends at or before pos
			if m.Length == 0 {
				m.Offset = pos + 1
				m.Length = 1
			}
		}
	}
	return m, Iomap{}, nil
}

func (r *randomOps) End(pos, length, written int64, flags ReqFlags, m Iomap) error {
	r.ends++
	return nil
}

// FuzzIter: whatever the provider and the body do, the iterator stops, the
// segments it hands out never overlap and never leave the request, End
// follows every Begin once, and a bad mapping is reported as an error.
func FuzzIter(f *testing.F) {
	f.Add(uint64(1), int64(0), int64(1000), uint8(0))
	f.Add(uint64(2), int64(4096), int64(5), uint8(20))
	f.Add(uint64(3), int64(123), int64(100000), uint8(2))
	f.Fuzz(func(t *testing.T, seed uint64, pos, length int64, badPct uint8) {
		if pos < 0 || length < 0 || length > 1<<20 || pos > 1<<40 {
			t.Skip("outside the range this fuzz target explores")
		}
		rng := rand.New(rand.NewPCG(seed, 7))
		ops := &randomOps{rng: rng, badPct: int(badPct % 50)}
		var it Iter
		it.Reset(ops, pos, length, Write)
		next := pos // every segment must start exactly where the last advance ended
		for rounds := 0; it.Next(); rounds++ {
			if rounds > int(length)+10 {
				t.Fatalf("more rounds (%d) than bytes: the iterator does not stop", rounds)
			}
			seg := it.Length()
			if it.Pos() != next || seg <= 0 || it.Pos()+seg > pos+length {
				t.Fatalf("segment [%d, +%d) for request [%d, +%d), expected start %d", it.Pos(), seg, pos, length, next)
			}
			n := rng.Int64N(seg + 1) // sometimes zero: a short I/O
			if err := it.Advance(n); err != nil {
				t.Fatalf("Advance(%d) within a %d-byte segment: %v", n, seg, err)
			}
			next += n
		}
		if ops.ends != ops.begins {
			t.Fatalf("%d begins, %d ends", ops.begins, ops.ends)
		}
		var bad *BadMappingError
		if it.Err() != nil && !errors.As(it.Err(), &bad) {
			t.Fatalf("unexpected error %v", it.Err())
		}
		if ops.bad && bad == nil {
			t.Fatalf("a bad mapping went unreported (Err %v)", it.Err())
		}
		if it.Err() == nil && it.Remaining() != pos+length-next {
			t.Fatalf("Remaining %d, but %d bytes were not advanced", it.Remaining(), pos+length-next)
		}
	})
}
