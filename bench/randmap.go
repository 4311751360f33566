package bench

import "math/bits"

// permutation is a keyed pseudo-random permutation of [0, n): fio's
// random map, which makes each block of a random pass come up once (fio
// tracks the blocks done in a bitmap; a permutation gives the same
// visiting order property without the bitmap). A four-round Feistel
// network permutes [0, 2^k) for the k bits covering n, and values past n
// walk the cycle on (cycle walking), which stays a permutation of [0, n).
// Safe for concurrent use: it holds no state but its key.
type permutation struct {
	n       uint64
	half    uint // bits per Feistel half
	mask    uint64
	keys    [4]uint64
	trivial bool
}

func newPermutation(n, seed uint64) permutation {
	p := permutation{n: n, trivial: n <= 2}
	k := uint(bits.Len64(max(n-1, 1)))
	k += k & 1 // an even number of bits: two halves
	p.half = k / 2
	p.mask = 1<<p.half - 1
	x := seed | 1
	for i := range p.keys {
		x = x*6364136223846793005 + 1442695040888963407
		p.keys[i] = x
	}
	return p
}

// at is the i-th element of the permutation (i taken modulo n).
func (p permutation) at(i uint64) uint64 {
	i %= p.n
	if p.trivial {
		return i
	}
	for {
		i = p.round(i)
		if i < p.n {
			return i
		}
	}
}

func (p permutation) round(v uint64) uint64 {
	l, r := v>>p.half, v&p.mask
	for _, k := range p.keys {
		f := (r*0x9E3779B97F4A7C15 ^ k) >> 17
		l, r = r, (l^f)&p.mask
	}
	return l<<p.half | r
}
