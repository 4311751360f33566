package iomap

import (
	"errors"
	"testing"
)

// script is a provider that answers Begin from a function and records every
// Begin and End, so that tests can check the iterator's contract.
type script struct {
	begin  func(pos, length int64) (Iomap, Iomap, error)
	endErr error
	valid  func(m Iomap) bool
	begins int
	ends   []endCall
}

type endCall struct{ pos, length, written int64 }

func (s *script) Begin(pos, length int64, flags ReqFlags) (Iomap, Iomap, error) {
	m, src, err := s.begin(pos, length)
	if err == nil {
		s.begins++
	}
	return m, src, err
}

func (s *script) End(pos, length, written int64, flags ReqFlags, m Iomap) error {
	s.ends = append(s.ends, endCall{pos, length, written})
	return s.endErr
}

type validScript struct{ *script }

func (v validScript) Valid(m Iomap) bool { return v.valid(m) }

// fixed maps [0, 10), [10, 25), [25, ...) as three mapped extents.
func fixed(pos, length int64) (Iomap, Iomap, error) {
	switch {
	case pos < 10:
		return Iomap{Offset: 0, Length: 10, Type: TypeMapped}, Iomap{}, nil
	case pos < 25:
		return Iomap{Offset: 10, Length: 15, Type: TypeUnwritten}, Iomap{}, nil
	}
	return Iomap{Offset: 25, Length: 1000, Type: TypeMapped}, Iomap{}, nil
}

func TestIterWalksMappings(t *testing.T) {
	s := &script{begin: fixed}
	var it Iter
	it.Reset(s, 5, 30, Write)
	var segs [][2]int64
	for it.Next() {
		segs = append(segs, [2]int64{it.Pos(), it.Length()})
		if err := it.Advance(it.Length()); err != nil {
			t.Fatal(err)
		}
	}
	if it.Err() != nil || it.Remaining() != 0 {
		t.Fatalf("Err %v, Remaining %d", it.Err(), it.Remaining())
	}
	want := [][2]int64{{5, 5}, {10, 15}, {25, 10}}
	if len(segs) != len(want) {
		t.Fatalf("segments %v, want %v", segs, want)
	}
	for i := range want {
		if segs[i] != want[i] {
			t.Fatalf("segments %v, want %v", segs, want)
		}
	}
	wantEnds := []endCall{{5, 5, 5}, {10, 15, 15}, {25, 10, 10}}
	if s.begins != 3 || len(s.ends) != 3 {
		t.Fatalf("%d begins, ends %v", s.begins, s.ends)
	}
	for i := range wantEnds {
		if s.ends[i] != wantEnds[i] {
			t.Fatalf("ends %v, want %v", s.ends, wantEnds)
		}
	}
}

func TestIterPartialAdvances(t *testing.T) {
	s := &script{begin: fixed}
	var it Iter
	it.Reset(s, 0, 12, 0)
	steps := 0
	for it.Next() {
		// Two advances per mapping: half, then the rest.
		half := it.Length() / 2
		it.Advance(half)
		it.Advance(it.Length())
		steps++
	}
	if it.Err() != nil || it.Remaining() != 0 || steps != 2 {
		t.Fatalf("Err %v, Remaining %d, %d mappings", it.Err(), it.Remaining(), steps)
	}
	if s.ends[0] != (endCall{0, 10, 10}) || s.ends[1] != (endCall{10, 2, 2}) {
		t.Fatalf("ends %v", s.ends)
	}
}

func TestIterBadMappings(t *testing.T) {
	cases := []struct {
		name string
		m    Iomap
		src  Iomap
	}{
		{"zero length", Iomap{Offset: 0, Length: 0, Type: TypeMapped}, Iomap{}},
		{"negative length", Iomap{Offset: 0, Length: -5, Type: TypeMapped}, Iomap{}},
		{"starts after pos", Iomap{Offset: 8, Length: 10, Type: TypeMapped}, Iomap{}},
		{"ends before pos", Iomap{Offset: 0, Length: 3, Type: TypeMapped}, Iomap{}},
		{"ends at pos", Iomap{Offset: 0, Length: 5, Type: TypeMapped}, Iomap{}},
		{"no type", Iomap{Offset: 0, Length: 10}, Iomap{}},
		{"unknown type", Iomap{Offset: 0, Length: 10, Type: 99}, Iomap{}},
		{"overflow", Iomap{Offset: 1, Length: 1<<63 - 1, Type: TypeMapped}, Iomap{}},
		{"srcmap misses pos", Iomap{Offset: 0, Length: 10, Type: TypeMapped}, Iomap{Offset: 6, Length: 4, Type: TypeMapped}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &script{begin: func(int64, int64) (Iomap, Iomap, error) { return c.m, c.src, nil }}
			var it Iter
			it.Reset(s, 5, 10, 0)
			rounds := 0
			for it.Next() {
				rounds++
				if rounds > 3 {
					t.Fatal("iterator kept going on a bad mapping")
				}
				it.Advance(it.Length())
			}
			var bad *BadMappingError
			if !errors.As(it.Err(), &bad) {
				t.Fatalf("Err %v, want a BadMappingError", it.Err())
			}
			if rounds != 0 || s.begins != 1 || len(s.ends) != 1 || s.ends[0].written != 0 {
				t.Fatalf("rounds %d, begins %d, ends %v: End must follow the failed Begin once", rounds, s.begins, s.ends)
			}
		})
	}
}

func TestIterAdvancePastMappingFails(t *testing.T) {
	s := &script{begin: fixed}
	var it Iter
	it.Reset(s, 0, 30, 0)
	for it.Next() {
		if err := it.Advance(it.Length() + 1); !errors.Is(err, ErrAdvance) {
			t.Fatalf("Advance past the mapping: %v", err)
		}
	}
	if !errors.Is(it.Err(), ErrAdvance) || len(s.ends) != 1 || s.ends[0].written != 0 {
		t.Fatalf("Err %v, ends %v", it.Err(), s.ends)
	}
	it.Reset(s, 0, 30, 0)
	it.Next()
	if err := it.Advance(-1); !errors.Is(err, ErrAdvance) {
		t.Fatalf("negative Advance: %v", err)
	}
}

func TestIterZeroProgressStops(t *testing.T) {
	s := &script{begin: fixed}
	var it Iter
	it.Reset(s, 0, 30, 0)
	rounds := 0
	for it.Next() {
		rounds++
		if rounds == 1 {
			it.Advance(it.Length())
		}
		// The second mapping makes no progress: a short I/O.
	}
	if it.Err() != nil || it.Remaining() != 20 || rounds != 2 || len(s.ends) != 2 {
		t.Fatalf("Err %v, Remaining %d, rounds %d, ends %v", it.Err(), it.Remaining(), rounds, s.ends)
	}
}

func TestIterStaleMappingIsRemapped(t *testing.T) {
	generation := uint64(0)
	s := &script{begin: func(pos, length int64) (Iomap, Iomap, error) {
		return Iomap{Offset: 0, Length: 100, Type: TypeMapped, ValidityCookie: generation}, Iomap{}, nil
	}}
	s.valid = func(m Iomap) bool { return m.ValidityCookie == generation }
	ops := validScript{s}
	var it Iter
	it.Reset(ops, 0, 50, 0)
	rounds := 0
	for it.Next() {
		rounds++
		if rounds == 1 {
			generation++ // the map changed under the body: no progress, stale
			continue
		}
		it.Advance(it.Length())
	}
	if it.Err() != nil || it.Remaining() != 0 || rounds != 2 {
		t.Fatalf("Err %v, Remaining %d, rounds %d: a stale mapping must be mapped again", it.Err(), it.Remaining(), rounds)
	}
	// A body that marks every mapping stale and never progresses ends in
	// ErrStaleLoop, not a spin.
	it.Reset(s, 0, 50, 0)
	rounds = 0
	for it.Next() {
		rounds++
		it.MarkStale()
	}
	if !errors.Is(it.Err(), ErrStaleLoop) || rounds != maxStaleRounds+1 {
		t.Fatalf("Err %v after %d rounds", it.Err(), rounds)
	}
}

func TestIterErrors(t *testing.T) {
	boom := errors.New("boom")
	s := &script{begin: func(int64, int64) (Iomap, Iomap, error) { return Iomap{}, Iomap{}, boom }}
	var it Iter
	it.Reset(s, 0, 10, 0)
	if it.Next() || !errors.Is(it.Err(), boom) || len(s.ends) != 0 {
		t.Fatalf("Begin error: Err %v, ends %v (End must not follow a failed Begin)", it.Err(), s.ends)
	}

	s = &script{begin: fixed, endErr: boom}
	it.Reset(s, 0, 30, 0)
	for it.Next() {
		it.Advance(it.Length())
	}
	if !errors.Is(it.Err(), boom) || len(s.ends) != 1 {
		t.Fatalf("End error: Err %v, ends %v", it.Err(), s.ends)
	}

	s = &script{begin: fixed}
	it.Reset(s, 0, 30, 0)
	for it.Next() {
		it.Advance(3)
		it.Fail(boom)
	}
	if !errors.Is(it.Err(), boom) || len(s.ends) != 1 || s.ends[0].written != 3 {
		t.Fatalf("body failure: Err %v, ends %v; End must get the 3 bytes done", it.Err(), s.ends)
	}

	for _, r := range [][2]int64{{-1, 10}, {0, -1}, {1 << 62, 1 << 62}} {
		s = &script{begin: fixed}
		it.Reset(s, r[0], r[1], 0)
		if it.Next() || !errors.Is(it.Err(), ErrRange) || s.begins != 0 {
			t.Fatalf("range %v: Err %v, begins %d", r, it.Err(), s.begins)
		}
	}
	// An empty range is done at once, without a Begin.
	s = &script{begin: fixed}
	it.Reset(s, 7, 0, 0)
	if it.Next() || it.Err() != nil || s.begins != 0 {
		t.Fatalf("empty range: Err %v, begins %d", it.Err(), s.begins)
	}
}
