package queue

import (
	"math/bits"
	"sync/atomic"
)

// Slots hands out the numbers 0..n-1, each to one holder at a time: a
// bitmap, claimed with a CAS, given back with an atomic AND. A number is
// free or taken, never in between (a bounded ring queue can look empty
// while a push is half done: a Submit would call a Context full that is
// not). Owner: shared; safe for concurrent use.
type Slots struct {
	words []atomic.Uint64 // bit set: taken (the bits past n stay set)
	n     int
	taken atomic.Int64
	hint  atomic.Uint32 // the word to look at first
}

// NewSlots makes n free numbers.
func NewSlots(n int) *Slots {
	s := &Slots{words: make([]atomic.Uint64, (n+63)/64), n: n}
	if tail := n % 64; tail != 0 {
		s.words[len(s.words)-1].Store(^uint64(0) << tail)
	}
	return s
}

// Take claims a free number; false when all n are taken.
func (s *Slots) Take() (int32, bool) {
	nw := uint32(len(s.words))
	start := s.hint.Load()
	for i := range nw {
		w := (start + i) % nw
		for {
			v := s.words[w].Load()
			if v == ^uint64(0) {
				break
			}
			bit := bits.TrailingZeros64(^v)
			if s.words[w].CompareAndSwap(v, v|1<<bit) {
				s.taken.Add(1)
				if w != start {
					s.hint.Store(w)
				}
				return int32(w)*64 + int32(bit), true
			}
		}
	}
	return 0, false
}

// Put gives back id, which the caller took.
func (s *Slots) Put(id int32) {
	s.words[id/64].And(^(uint64(1) << (id % 64)))
	s.taken.Add(-1)
}

// Free is how many numbers are free, as of a moment during the call.
func (s *Slots) Free() int { return s.n - int(s.taken.Load()) }
