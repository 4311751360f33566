package bench

import "math/rand/v2"

// offsets generates a job's I/O offsets and directions. One per queue:
// not for concurrent use.
type offsets struct {
	job    *Job
	rng    *rand.Rand
	zipf   *rand.Zipf
	unit   int64  // offsets are multiples of it (the smallest block size)
	blocks uint64 // offsets that leave room for the largest block
	next   int64  // sequential position
	size   int64  // the block size of the last nextOp
}

func newOffsets(job *Job, stream uint64) *offsets {
	o := &offsets{job: job, rng: rand.New(rand.NewPCG(job.Seed, stream)), unit: job.minBS()}
	o.blocks = uint64(max((job.Size-job.BS)/o.unit+1, 1))
	if job.ZipfTheta > 0 && o.blocks > 1 {
		// rand.Zipf needs s > 1; fio's theta is usually below 1, so map
		// theta to s = 1 + theta (a skew of the same direction).
		o.zipf = rand.NewZipf(o.rng, 1+job.ZipfTheta, 1, o.blocks-1)
	}
	return o
}

// pickSize chooses the block size of the next I/O (bssplit weights).
func (o *offsets) pickSize() int64 {
	if len(o.job.BSSplit) == 0 {
		return o.job.BS
	}
	r := o.rng.IntN(100)
	for _, p := range o.job.BSSplit {
		if r < p.Pct {
			return p.Size
		}
		r -= p.Pct
	}
	return o.job.BSSplit[len(o.job.BSSplit)-1].Size
}

// nextOp returns the next offset and whether it is a write; o.size is its
// block size.
func (o *offsets) nextOp() (int64, bool) {
	j := o.job
	o.size = o.pickSize()
	write := j.RW.writes()
	if j.RW == RandRW {
		write = o.rng.IntN(100) >= j.RWMixRead
	}
	switch j.RW {
	case Read, Write:
		if o.next+o.size > j.Size {
			o.next = 0
		}
		off := o.next
		o.next += o.size
		return off, write
	case Append:
		off := o.next
		o.next += o.size
		return off, true
	}
	var blk uint64
	if o.zipf != nil {
		// Scatter the hot blocks over the file, as fio does.
		blk = (o.zipf.Uint64() * 0x9E3779B97F4A7C15) % o.blocks
	} else {
		blk = o.rng.Uint64N(o.blocks)
	}
	return min(int64(blk)*o.unit, j.Size-o.size), write
}
