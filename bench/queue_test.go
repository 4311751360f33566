package bench

import (
	"testing"

	"github.com/nowaitio/nowait/ring"
)

// batchLog records how a queue uses its driver: the I/Os each submit call
// carried, each wait's bounds, and the I/Os in flight when a full queue
// starts to fill again. Owner: the queue's goroutine; the test reads it after the run.
type batchLog struct {
	driver
	queued   int   // queued since the last submit
	inflight int   // submitted, not reaped
	submits  []int // I/Os per submit call
	waitMax  []int // len(out) of each wait
	waitMin  []int
	depth    int
	reaping  bool // waits since the queue was last full, no slot queued since
	refillAt int  // the most in flight when a full queue started to fill again
}

func (l *batchLog) queue(idx int, s *slot) {
	l.queued++
	if l.reaping {
		l.refillAt, l.reaping = max(l.refillAt, l.inflight), false
	}
	l.driver.queue(idx, s)
}

func (l *batchLog) submit() (int, error) {
	n, err := l.driver.submit()
	l.submits = append(l.submits, l.queued)
	l.queued = 0
	l.inflight += n
	return n, err
}

func (l *batchLog) wait(out []completion, min int) (int, error) {
	if l.inflight == l.depth {
		l.reaping = true
	}
	n, err := l.driver.wait(out, min)
	l.waitMax, l.waitMin = append(l.waitMax, len(out)), append(l.waitMin, min)
	l.inflight -= n
	return n, err
}

// logBatches runs job on e with every queue's driver logged.
func logBatches(t *testing.T, job Job, e Engine) *batchLog {
	t.Helper()
	var l *batchLog
	faultDriver = func(d driver, depth int) driver {
		l = &batchLog{driver: d, depth: depth}
		return l
	}
	defer func() { faultDriver = nil }()
	if _, err := runOn(job, e); err != nil {
		t.Fatal(err)
	}
	if l == nil || len(l.submits) < 10 {
		t.Fatalf("%s: the queue hardly ran: %+v", e.Name(), l)
	}
	return l
}

// TestBatchingAsFio: the queues submit and reap as fio does with the same
// options. By default (iodepth_batch_submit=1, iodepth_batch_complete_min
// =1, max = min) each I/O is submitted as soon as it is ready and each
// wait takes one completion: the loop used to send all it had in one call
// and take every completion there was, which on this machine's virtio
// disk cost the Go engines 10-20% at depth 32 against fio. With batches of
// 4, a reap of at most 4 and iodepth_low=4, a full queue of 8 is reaped
// down to 4 before it fills again.
func TestBatchingAsFio(t *testing.T) {
	engines := []Engine{AIOEngine{}} // on either backend: the loop is the same
	if err := ring.Available(); err != nil {
		t.Logf("the ring engine is left out: %v", err)
	} else {
		engines = append(engines, RingEngine{})
	}
	for _, e := range engines {
		job := smallJob(t, RandRead)
		l := logBatches(t, job, e)
		if m := maxOf(l.submits); m != 1 {
			t.Errorf("%s default: a submit call carried %d I/Os; fio submits each as it is ready", e.Name(), m)
		}
		if m := maxOf(l.waitMax); m != 1 {
			t.Errorf("%s default: a wait took up to %d completions; fio takes iodepth_batch_complete_min (1)", e.Name(), m)
		}

		job = smallJob(t, RandRead)
		job.BatchSubmit, job.BatchCompleteMax, job.IODepthLow = 4, 4, 4
		l = logBatches(t, job, e)
		if m := maxOf(l.submits); m != 4 {
			t.Errorf("%s iodepth_batch_submit=4: the largest submit carried %d I/Os", e.Name(), m)
		}
		if m := maxOf(l.waitMax); m != 4 {
			t.Errorf("%s iodepth_batch_complete_max=4: a wait took up to %d completions", e.Name(), m)
		}
		if l.refillAt > 4 || l.refillAt == 0 {
			t.Errorf("%s iodepth_low=4: a full queue filled again with %d I/Os in flight", e.Name(), l.refillAt)
		}
		for i, min := range l.waitMin {
			if min < 1 || min > l.waitMax[i] {
				t.Fatalf("%s: wait %d asked for at least %d of at most %d", e.Name(), i, min, l.waitMax[i])
			}
		}
	}
}

// TestBatchOptionsResolveAsFio: fio's zeros and out-of-range values.
func TestBatchOptionsResolveAsFio(t *testing.T) {
	for _, c := range []struct {
		submit, cmin, cmax, low int
		want                    batching
	}{
		{1, 1, 0, 0, batching{submit: 1, reapMin: 1, reapMax: 1, low: 32}},      // fio's defaults
		{0, 1, 0, 0, batching{submit: 32, reapMin: 1, reapMax: 1, low: 32}},     // 0: iodepth
		{64, 1, 16, 8, batching{submit: 32, reapMin: 1, reapMax: 16, low: 8}},   // past iodepth: iodepth
		{8, 4, 2, 40, batching{submit: 8, reapMin: 4, reapMax: 4, low: 32}},     // max below min: min
		{1, 0, 0, 0, batching{submit: 1, reapMin: 1, reapMax: 1, low: 32}},      // min 0: a full queue waits for one
		{16, 0, 32, 16, batching{submit: 16, reapMin: 1, reapMax: 32, low: 16}}, // fio's example #1, nearly
	} {
		j := DefaultJob()
		j.BatchSubmit, j.BatchCompleteMin, j.BatchCompleteMax, j.IODepthLow = c.submit, c.cmin, c.cmax, c.low
		if got := j.batching(); got != c.want {
			t.Errorf("submit=%d complete_min=%d complete_max=%d low=%d: %+v, want %+v", c.submit, c.cmin, c.cmax, c.low, got, c.want)
		}
	}
	j := DefaultJob()
	j.BatchSubmit = -1
	if err := j.Validate(); err == nil {
		t.Error("a negative iodepth_batch_submit was accepted")
	}
}

func maxOf(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// TestMixedJobBatching: the mixed job submits one I/O per call by default
// (fio's way, and what its Submit latency is of), and every ready I/O in
// one call with iodepth_batch_submit=0, as it did before.
func TestMixedJobBatching(t *testing.T) {
	m := DefaultMixedJob(t.TempDir())
	m.Submissions, m.ReadSize, m.PreallocSz = 3000, 16<<20, 16<<20
	run := func(m MixedJob) *batchLog {
		var l *batchLog
		faultDriver = func(d driver, depth int) driver { l = &batchLog{driver: d, depth: depth}; return l }
		defer func() { faultDriver = nil }()
		if _, err := RunMixed(m, "aio"); err != nil {
			t.Fatal(err)
		}
		return l
	}
	if l := run(m); maxOf(l.submits) != 1 || len(l.submits) < m.Submissions {
		t.Errorf("default: %d submit calls, the largest of %d I/Os; want %d of one each", len(l.submits), maxOf(l.submits), m.Submissions)
	}
	m.BatchSubmit, m.BatchCompleteMax = 0, 64
	if l := run(m); maxOf(l.submits) < 2 || maxOf(l.waitMax) < 2 {
		t.Errorf("iodepth_batch_submit=0: the largest submit carried %d I/Os, the largest wait %d: no batching", maxOf(l.submits), maxOf(l.waitMax))
	}
}
