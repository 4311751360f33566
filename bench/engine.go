package bench

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Engine runs a group of jobs at once (fio's jobs between stonewalls) and
// reports what each did.
type Engine interface {
	Name() string
	run(g *groupRun) ([]Result, error)
}

// EngineNames lists the engines, in the order the docs describe them.
var EngineNames = []string{"aio", "psync", "ring", "fio"}

// EngineByName returns the engine called name.
func EngineByName(name string) (Engine, error) {
	switch name {
	case "aio":
		return AIOEngine{}, nil
	case "psync":
		return PsyncEngine{}, nil
	case "ring":
		return RingEngine{}, nil
	case "fio":
		return FioEngine{}, nil
	}
	return nil, fmt.Errorf("unknown engine %q (one of %s)", name, strings.Join(EngineNames, ", "))
}

// window is the measured part of one job's run: from the end of its ramp
// to its deadline, with the process's CPU time over it. Owner: made before
// the job's queues start; its counters are atomic.
type window struct {
	engine                string
	start, from, deadline time.Time
	cpuFrom, cpuTo        unix.Rusage
	done                  chan struct{}
	ended                 chan struct{} // closed when every queue has stopped (its bytes issued)
	stopped               time.Time     // when the measurement ended
	live                  atomic.Int64  // I/Os completed so far, for the status line
	issued                atomic.Int64  // bytes issued by every clone, for the status line
	total                 int64         // bytes the clones may issue in all (0: no bound)
	untilBytes            bool          // no runtime: the job ends when its clones' bytes are issued
	series                []float64     // IOPS per SeriesStep over the measured time (when SeriesStep > 0)
	halt                  *atomic.Bool  // set when a job of the group with exitall ends
}

// SeriesStep, when positive, makes every run sample its IOPS at this step
// over its measured time (Result.Series), for --plot; the fio engine then
// writes fio's IOPS log at the same step.
var SeriesStep time.Duration

// interrupted is set by Interrupt: every run stops issuing, and what was
// measured so far is reported.
var (
	interrupted   atomic.Bool
	interruptOnce sync.Once
	interruptCh   = make(chan struct{})
)

// Interrupt ends the runs in progress early (Ctrl-C): they stop issuing,
// wait for what is in flight, and report what they measured; no run
// starts after it.
func Interrupt() {
	interruptOnce.Do(func() {
		interrupted.Store(true)
		close(interruptCh)
	})
}

// Interrupted reports whether Interrupt was called.
func Interrupted() bool { return interrupted.Load() }

// issue reports whether another I/O of size bytes may start: the deadline
// has not passed and the run was not interrupted.
func (w *window) issue(now time.Time, size int64) bool {
	if !now.Before(w.deadline) || w.halted() {
		return false
	}
	w.issued.Add(size)
	return true
}

// halted reports whether the run was interrupted, or its group ended
// (exitall).
func (w *window) halted() bool {
	return interrupted.Load() || w.halt != nil && w.halt.Load()
}

// live are the windows of the runs in progress, for LiveStatus.
var (
	liveMu      sync.Mutex
	liveWindows []*window
)

// LiveStatus describes the runs in progress: the engine, how far the
// first job is (0..1), the IOPS of them all since they started, and the
// first job's time left. ok is false between runs.
func LiveStatus() (engine string, done, iops float64, left time.Duration, ok bool) {
	liveMu.Lock()
	ws := slices.Clone(liveWindows)
	liveMu.Unlock()
	if len(ws) == 0 {
		return "", 0, 0, 0, false
	}
	now := time.Now()
	w := ws[0]
	for _, o := range ws {
		if el := now.Sub(o.start).Seconds(); el > 0 {
			iops += float64(o.live.Load()) / el
		}
	}
	if w.untilBytes { // how far by bytes
		return w.engine, min(float64(w.issued.Load())/float64(max(w.total, 1)), 1), iops, 0, true
	}
	total := w.deadline.Sub(w.start)
	el := min(max(now.Sub(w.start), 0), total)
	return w.engine, float64(el) / float64(max(total, 1)), iops, total - el, true
}

// newWindow makes the window of a job whose queues start at start (its
// group's start plus its startdelay).
func newWindow(engine string, job Job, start time.Time, total int64) *window {
	w := &window{engine: engine, start: start, done: make(chan struct{}), ended: make(chan struct{}), total: total}
	w.from = w.start.Add(job.Ramp)
	w.deadline = w.from.Add(job.Runtime)
	if w.untilBytes = job.Runtime == 0; w.untilBytes { // Validate allows it only with an io_size
		w.deadline = w.from.Add(100 * 365 * 24 * time.Hour) // never
	}
	return w
}

// waitStart holds a queue until the job's start (its startdelay).
func (w *window) waitStart() {
	if d := time.Until(w.start); d > 0 {
		select {
		case <-time.After(d):
		case <-interruptCh:
		}
	}
}

// begin samples CPU time at the end of the ramp and at the deadline (or
// when the queues end). Without a ramp or a start delay the first sample
// is taken here, before the queues can run: on a goroutine of its own it
// waited behind a hundred busy psync queues and missed most of the run.
func (w *window) begin() {
	liveMu.Lock()
	liveWindows = append(liveWindows, w)
	liveMu.Unlock()
	early := !time.Now().Before(w.from)
	if early {
		unix.Getrusage(unix.RUSAGE_SELF, &w.cpuFrom)
	}
	go func() {
		wait := func(t time.Time) {
			select {
			case <-time.After(time.Until(t)):
			case <-w.ended:
			case <-interruptCh:
			}
		}
		if !early {
			wait(w.from)
			unix.Getrusage(unix.RUSAGE_SELF, &w.cpuFrom)
		}
		if SeriesStep > 0 {
			w.sample()
		}
		wait(w.deadline)
		unix.Getrusage(unix.RUSAGE_SELF, &w.cpuTo)
		w.stopped = time.Now()
		close(w.done)
	}()
}

// sample records the IOPS of every SeriesStep until the run ends.
func (w *window) sample() {
	t := time.NewTicker(SeriesStep)
	defer t.Stop()
	last := w.live.Load()
	for {
		select {
		case <-t.C:
			if time.Now().After(w.deadline) {
				return
			}
			n := w.live.Load()
			w.series = append(w.series, float64(n-last)/SeriesStep.Seconds())
			last = n
		case <-w.ended:
			return
		case <-interruptCh:
			return
		}
	}
}

// end waits for the window's sampler (its queues have stopped: ended is
// closed) and takes it off the status line.
func (w *window) end() {
	<-w.done
	liveMu.Lock()
	liveWindows = slices.DeleteFunc(liveWindows, func(o *window) bool { return o == w })
	liveMu.Unlock()
}

func (w *window) measuring(t time.Time) bool { return !t.Before(w.from) && !t.After(w.deadline) }

// queueStats is one queue's (goroutine's) counts. Owner: that goroutine,
// until the run ends.
type queueStats struct {
	ops, bytes, errs int64
	lat, slat        histogram
	dirs             [2]dirStats // reads, writes
	firstErr         error
	verify           verifyStats
	clone            int        // the clone the queue runs
	log              []logEntry // the I/Os, when the job writes fio's logs
}

// dirStats is one direction's share of a queue's counts.
type dirStats struct {
	ops, bytes int64
	lat        histogram
}

func newQueueStats() *queueStats {
	q := &queueStats{lat: newHistogram(), slat: newHistogram()}
	q.dirs[0].lat, q.dirs[1].lat = newHistogram(), newHistogram()
	return q
}

// done counts one measured I/O of n bytes that took lat, in its direction
// and in all.
func (q *queueStats) done(write bool, lat time.Duration, n int64) {
	q.lat.record(lat)
	q.ops++
	q.bytes += n
	d := &q.dirs[0]
	if write {
		d = &q.dirs[1]
	}
	d.lat.record(lat)
	d.ops++
	d.bytes += n
}

func (q *queueStats) fail(err error) {
	q.errs++
	if q.firstErr == nil {
		q.firstErr = err
	}
}

// finish merges the queues into a Result.
func (w *window) finish(engine string, job Job, qs []*queueStats) (Result, error) {
	w.end()
	end := w.stopped
	if end.After(w.deadline) {
		end = w.deadline
	}
	r := Result{Engine: engine, Job: job.Name, Elapsed: max(end.Sub(w.from), time.Millisecond), Series: w.series, began: w.from, ended: end}
	if w.series != nil {
		r.SeriesStep = SeriesStep
	}
	lat, slat := newHistogram(), newHistogram()
	dirLat := [2]histogram{newHistogram(), newHistogram()}
	dirs := [2]*DirResult{&r.Read, &r.Write}
	var firstErr error
	for _, q := range qs {
		for i := range dirs {
			dirs[i].Ops += q.dirs[i].ops
			dirs[i].Bytes += q.dirs[i].bytes
			dirLat[i].merge(q.dirs[i].lat)
		}
		r.VerifyErrs += q.verify.failures
		r.VerifiedReads += q.verify.checked
		if r.VerifyFirst == "" && q.verify.first != nil {
			r.VerifyFirst = q.verify.first.Error()
		}
		r.Ops += q.ops
		r.Bytes += q.bytes
		r.Errors += q.errs
		lat.merge(q.lat)
		slat.merge(q.slat)
		if firstErr == nil {
			firstErr = q.firstErr
		}
	}
	r.Lat, r.Slat = lat.percentiles(), slat.percentiles()
	secs := r.Elapsed.Seconds()
	r.IOPS, r.BWBytes = float64(r.Ops)/secs, float64(r.Bytes)/secs
	for i, d := range dirs {
		d.Lat, d.hist = dirLat[i].percentiles(), dirLat[i]
		d.IOPS, d.BWBytes = float64(d.Ops)/secs, float64(d.Bytes)/secs
	}
	r.CPUUser = tvSeconds(w.cpuTo.Utime) - tvSeconds(w.cpuFrom.Utime)
	r.CPUSys = tvSeconds(w.cpuTo.Stime) - tvSeconds(w.cpuFrom.Stime)
	if r.Ops > 0 {
		r.CPUPerIONs = (r.CPUUser + r.CPUSys) * 1e9 / float64(r.Ops)
	}
	if r.Ops == 0 && firstErr != nil {
		return r, fmt.Errorf("%s: no I/O completed: %w", engine, firstErr)
	}
	if firstErr != nil {
		r.Note = fmt.Sprintf("%d errors, the first: %v", r.Errors, firstErr)
	}
	if interrupted.Load() {
		addNote(&r, "interrupted: the run was cut short")
	}
	return r, nil
}

func tvSeconds(tv unix.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }

// fillBlock fills b with cheap pseudo-random, non-zero data.
func fillBlock(b []byte, seed uint64) {
	x := seed*0x9E3779B97F4A7C15 | 1
	for i := 0; i+8 <= len(b); i += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		for k := range 8 {
			b[i+k] = byte(x>>(8*k)) | 1
		}
	}
}

// appendAt takes the offset of the next append of size bytes. Past the
// job's size it wraps to the start, as fio's sequential writes do over
// their size, so that the file never grows past it: a 16 MiB append job
// once grew its file to 341 MB.
func appendAt(next *atomic.Int64, size, limit int64) int64 {
	off := next.Add(size) - size
	if limit > 0 {
		if off %= limit; off+size > limit {
			off = 0
		}
	}
	return off
}
