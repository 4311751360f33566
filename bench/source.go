package bench

import (
	"math/rand/v2"
	"time"
)

// jobSource chooses one queue's I/Os for a job, as fio would: the file
// (round robin over the clone's files), the direction, the offset, syncs
// after every fsync=N writes, thinktime, the rate cap, verify stamps; and
// counts what completes. Owner: the queue's goroutine.
type jobSource struct {
	jr          *jobRun
	job         *Job
	clone       *cloneRun
	q           *queueStats
	timedSubmit bool // the driver's submit call is worth timing (not psync's, which is the I/O)
	rng         *rand.Rand
	zipf        *rand.Zipf
	unit        int64  // offsets are multiples of it (the smallest block size)
	blocks      uint64 // random offsets that leave room for the largest block
	file        int    // the next file, round robin
	seqLeft     int64  // rw=randread:N: sequential I/Os left before a new random offset
	seqNext     int64
	syncDue     *cloneFile // a sync of this file goes next (fsync=N)
	thinkCount  int
	thinkDue    bool
	held        heldOp // an I/O chosen and not yet sent (rate, a busy block)
	logging     bool   // the job writes fio's logs: every measured I/O is kept
	verifying   bool   // the verify phase: reading back what the job wrote
	vfile       int    // the verify phase's file
}

// heldOp is an I/O the source chose and could not send yet.
type heldOp struct {
	ok       bool
	cf       *cloneFile
	off      int64 // absolute
	size     int64
	write    bool
	earliest time.Time // the rate cap's time for it
	units    unitSpan
	locked   bool
}

func newJobSource(jr *jobRun, clone *cloneRun, stream uint64, q *queueStats, timedSubmit bool) *jobSource {
	job := jr.job
	q.clone = clone.index
	s := &jobSource{jr: jr, job: job, clone: clone, q: q, timedSubmit: timedSubmit, logging: job.logging(),
		rng: rand.New(rand.NewPCG(jr.seed, stream)), unit: max(job.minBS(), job.BlockAlign)}
	s.blocks = randomBlocks(job, clone.files[0].size)
	if job.ZipfTheta > 0 && s.blocks > 1 {
		// rand.Zipf needs s > 1; fio's theta is usually below 1, so map
		// theta to s = 1 + theta (a skew of the same direction).
		s.zipf = rand.NewZipf(s.rng, 1+job.ZipfTheta, 1, s.blocks-1)
	}
	return s
}

// pickSize chooses the block size of the next I/O (bssplit weights).
func (s *jobSource) pickSize() int64 {
	if len(s.job.BSSplit) == 0 {
		return s.job.BS
	}
	r := s.rng.IntN(100)
	for _, p := range s.job.BSSplit {
		if r < p.Pct {
			return p.Size
		}
		r -= p.Pct
	}
	return s.job.BSSplit[len(s.job.BSSplit)-1].Size
}

// draw chooses the next I/O: its file, size, direction and offset.
func (s *jobSource) draw() heldOp {
	j := s.job
	cf := &s.clone.files[s.file]
	s.file = (s.file + 1) % len(s.clone.files)
	op := heldOp{ok: true, cf: cf, size: s.pickSize(), write: j.RW.writes()}
	if j.RW.mixed() {
		op.write = s.rng.IntN(100) >= j.RWMixRead
	}
	switch {
	case j.RW == Append:
		op.off = appendAt(&cf.f.appendOff, op.size, cf.size)
	case !j.RW.random():
		op.off = cf.base + s.sequential(cf, op.size, op.write)
	default:
		op.off = cf.base + s.random(cf, op.size)
	}
	return op
}

// sequential takes the clone's next position in the direction (shared by
// the clone's queues), a hole of SeqMod after it (or, negative, a step
// back), wrapping at the region's ends as fio does.
func (s *jobSource) sequential(cf *cloneFile, size int64, write bool) int64 {
	pos := &cf.seq[0]
	if write {
		pos = &cf.seq[1]
	}
	step := size + s.job.SeqMod // negative: backwards (rw=read:-8k)
	for {
		old := pos.Load()
		p := old
		if p < 0 { // backwards past the start: fio goes on from the end
			p += cf.size - size
		}
		if p < 0 || p+size > cf.size {
			p = 0
		}
		if pos.CompareAndSwap(old, p+step) {
			return p
		}
	}
}

// random is a random offset in the region, or, with rw=randread:N, the
// next of N in a row from the last random one.
func (s *jobSource) random(cf *cloneFile, size int64) int64 {
	if s.seqLeft > 0 && s.seqNext+size <= cf.size {
		s.seqLeft--
		off := s.seqNext
		s.seqNext += size
		return off
	}
	var blk uint64
	switch {
	case s.zipf != nil:
		// Scatter the hot blocks over the file, as fio does.
		blk = (s.zipf.Uint64() * 0x9E3779B97F4A7C15) % s.blocks
	case s.job.Zones != nil:
		blk = s.zoned()
	case cf.perm.n > 0: // the random map: each block once per pass, shared by the clone's queues
		blk = cf.perm.at(cf.randPos.Add(1) - 1)
	default:
		blk = s.rng.Uint64N(s.blocks)
	}
	off := min(int64(blk)*s.unit, cf.size-size)
	if s.job.SeqMod > 1 {
		s.seqLeft, s.seqNext = s.job.SeqMod-1, off+size
	}
	return off
}

// zoned draws a block of a zoned distribution: a zone by its share of
// the I/Os, then a block of it uniformly.
func (s *jobSource) zoned() uint64 {
	r, first := s.rng.IntN(100), uint64(0)
	for _, z := range s.job.Zones {
		n := max(s.blocks*uint64(z.Span)/100, 1)
		if r < z.Pct {
			return min(first+s.rng.Uint64N(n), s.blocks-1)
		}
		r -= z.Pct
		first += n
	}
	return s.rng.Uint64N(s.blocks)
}

func (s *jobSource) next(sl *slot, now *time.Time, idle bool) nextState {
	w := s.jr.w
	if s.thinkDue {
		if !idle {
			return nextLater // fio thinks with nothing in flight
		}
		s.think()
		*now = time.Now()
	}
	if w.halted() || s.jr.failed.Load() || s.q.errs > 100 {
		return nextStop
	}
	if !s.verifying && !now.Before(w.deadline) {
		return s.endWrites()
	}
	if cf := s.syncDue; cf != nil {
		s.syncDue = nil
		*sl = slot{kind: opDatasync, file: cf.f.handle, mem: sl.mem, cf: cf}
		if s.job.SyncFull {
			sl.kind = opFsync
		}
		return nextIssue
	}
	if !s.held.ok && s.verifying {
		if s.held = s.verifyNext(); !s.held.ok {
			return nextStop
		}
	}
	if !s.held.ok {
		op := s.draw()
		if !w.issue(*now, op.size) || !s.clone.issue(op.size) {
			return s.endWrites()
		}
		op.earliest = s.paced(op)
		s.held = op
	}
	op := &s.held
	if d := op.earliest.Sub(*now); d > 0 {
		if !idle {
			return nextLater
		}
		time.Sleep(d)
		*now = time.Now()
	}
	if t := op.cf.f.verify; t != nil && !op.locked {
		if op.units, op.locked = t.acquire(op.off, op.size); !op.locked {
			return nextLater // another I/O of the same block is in flight
		}
	}
	s.fill(sl, op)
	s.held = heldOp{}
	return nextIssue
}

// endWrites ends the job's I/O, or, for a job that writes with verify
// (and do_verify), begins its verify phase: every block of the clone's
// regions read back, in the job's block size, and checked against its
// file's table, as fio's verify phase after the writes.
func (s *jobSource) endWrites() nextState {
	j := s.job
	if s.verifying || j.Verify == "" || !j.DoVerify || !j.RW.writes() {
		return nextStop
	}
	s.verifying = true
	return nextLater // after what is in flight
}

// verifyNext is the verify phase's next read: the clone's next unread
// piece of its regions (shared by the clone's queues).
func (s *jobSource) verifyNext() heldOp {
	unit := s.job.minBS() // the verified block
	for s.vfile < len(s.clone.files) {
		cf := &s.clone.files[s.vfile]
		limit := cf.size
		if s.job.RW == Append {
			limit = min(cf.f.appendOff.Load(), cf.size)
		}
		off := cf.verified.Add(s.job.BS) - s.job.BS
		if off+unit > limit {
			s.vfile++
			continue
		}
		return heldOp{ok: true, cf: cf, off: cf.base + off, size: min(s.job.BS, (limit-off)/unit*unit)}
	}
	return heldOp{}
}

// paced is when the op may start under the clone's rate caps: the time at
// which the bytes (or I/Os) issued before it in its direction fit the cap.
func (s *jobSource) paced(op heldOp) time.Time {
	dir := 0
	if op.write {
		dir = 1
	}
	var at time.Duration
	if r := s.job.Rate[dir]; r > 0 {
		before := s.clone.rateBytes[dir].Add(op.size) - op.size
		at = time.Duration(float64(before) / float64(r) * float64(time.Second))
	}
	if r := s.job.RateIOPS[dir]; r > 0 {
		before := s.clone.rateOps[dir].Add(1) - 1
		at = max(at, time.Duration(float64(before)/float64(r)*float64(time.Second)))
	}
	if at == 0 {
		return time.Time{}
	}
	return s.clone.start.Add(at)
}

// fill puts op into the slot: a write is stamped (verify) and counted for
// fsync=N.
func (s *jobSource) fill(sl *slot, op *heldOp) {
	*sl = slot{kind: opRead, file: op.cf.f.handle, off: op.off, mem: sl.mem, buf: sl.mem[:op.size], cf: op.cf, units: op.units}
	if !op.write {
		return
	}
	sl.kind = opWrite
	if s.jr.stamp != nil {
		s.jr.stamp.stamp(sl.buf, sl.off, op.cf.f.verify)
	}
	if n := s.job.FsyncN; n > 0 && s.clone.writes.Add(1)%int64(n) == 0 {
		s.syncDue = op.cf
	}
}

// think stalls the queue for thinktime, spinning for thinktime_spin of it.
func (s *jobSource) think() {
	s.thinkDue = false
	t0 := time.Now()
	for time.Since(t0) < s.job.ThinkSpin {
	}
	if d := s.job.Think - time.Since(t0); d > 0 {
		time.Sleep(d)
	}
}

func (s *jobSource) submitted(t0 time.Time, d time.Duration) {
	if s.timedSubmit && s.jr.w.measuring(t0) {
		s.q.slat.record(d)
	}
}

func (s *jobSource) unsent(sl *slot) {
	sl.units.release()
	sl.units = unitSpan{}
}

func (s *jobSource) done(sl *slot, c completion, at time.Time) {
	defer s.unsent(sl) // the blocks are free once counted
	write := sl.kind == opWrite
	switch {
	case c.err != nil:
		s.q.fail(c.err)
		if t := sl.cf.f.verify; write && t != nil {
			t.forget(sl.off, int64(len(sl.buf)))
		}
		kind := "read"
		if write {
			kind = "write"
		}
		if !s.job.ContinueOn[kind] {
			s.jr.failed.Store(true) // fio ends the job at its first error
		}
		return
	case sl.kind == opRead && s.jr.stamp != nil && c.res == len(sl.buf):
		s.q.verify.checked++
		if err := s.jr.stamp.check(sl.buf, sl.off, sl.cf.f.verify, s.verifying); err != nil {
			s.q.verify.fail(err)
			if s.job.VerifyFatal && !s.job.ContinueOn["verify"] {
				s.jr.failed.Store(true)
			}
		}
	}
	if w := s.jr.w; !sl.kind.isSync() && w.measuring(at) {
		s.q.done(write, at.Sub(sl.start), int64(c.res))
		w.live.Add(1)
		if s.logging {
			s.q.log = append(s.q.log, logEntry{at: at.Sub(w.start), lat: at.Sub(sl.start), write: write, size: int64(c.res), off: sl.off})
		}
	}
	if s.job.Think > 0 && !sl.kind.isSync() {
		if s.thinkCount++; s.thinkCount >= s.job.ThinkBlocks {
			s.thinkCount, s.thinkDue = 0, true
		}
	}
}
