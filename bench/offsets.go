package bench

import "math/rand/v2"

// offsets generates a job's I/O offsets and directions. One per queue:
// not for concurrent use.
type offsets struct {
	job    *Job
	rng    *rand.Rand
	zipf   *rand.Zipf
	blocks uint64
	next   int64 // sequential position
}

func newOffsets(job *Job, stream uint64) *offsets {
	o := &offsets{job: job, rng: rand.New(rand.NewPCG(job.Seed, stream)), blocks: uint64(job.Size / job.BS)}
	if job.ZipfTheta > 0 && o.blocks > 1 {
		// rand.Zipf needs s > 1; fio's theta is usually below 1, so map
		// theta to s = 1 + theta (a skew of the same direction).
		o.zipf = rand.NewZipf(o.rng, 1+job.ZipfTheta, 1, o.blocks-1)
	}
	return o
}

// nextOp returns the next offset and whether it is a write.
func (o *offsets) nextOp() (int64, bool) {
	j := o.job
	write := j.RW.writes()
	if j.RW == RandRW {
		write = o.rng.IntN(100) >= j.RWMixRead
	}
	switch j.RW {
	case Read, Write:
		off := o.next
		o.next += j.BS
		if o.next+j.BS > j.Size {
			o.next = 0
		}
		return off, write
	case Append:
		off := o.next
		o.next += j.BS
		return off, true
	}
	var blk uint64
	if o.zipf != nil {
		// Scatter the hot blocks over the file, as fio does.
		blk = (o.zipf.Uint64() * 0x9E3779B97F4A7C15) % o.blocks
	} else {
		blk = o.rng.Uint64N(o.blocks)
	}
	return int64(blk) * j.BS, write
}
