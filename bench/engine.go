package bench

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/aio"
)

// Engine runs a job on its file and reports what it did.
type Engine interface {
	Name() string
	Run(job Job) (Result, error)
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

// window is the measured part of a run: from the end of the ramp to the
// deadline, with the process's CPU time over it.
type window struct {
	engine                string
	start, from, deadline time.Time
	cpuFrom, cpuTo        unix.Rusage
	done                  chan struct{}
	ended                 chan struct{} // closed when every queue has stopped (io_size reached)
	stopped               time.Time     // when the measurement ended
	live                  atomic.Int64  // I/Os completed so far, for the status line
	issued                atomic.Int64  // bytes issued, against the job's TotalBytes
	total                 int64
	untilBytes            bool // no runtime: the job ends when total bytes are issued
}

// issue reports whether another I/O of size bytes may start: the deadline
// has not passed and the job's io_size is not reached.
func (w *window) issue(now time.Time, size int64) bool {
	if !now.Before(w.deadline) {
		return false
	}
	return w.total == 0 || w.issued.Add(size) <= w.total
}

// current is the run in progress, for LiveStatus.
var current atomic.Pointer[window]

// LiveStatus describes the run in progress: its engine, how far it is
// (0..1), its IOPS since the start, and the time left. ok is false between
// runs.
func LiveStatus() (engine string, done, iops float64, left time.Duration, ok bool) {
	w := current.Load()
	if w == nil {
		return "", 0, 0, 0, false
	}
	now := time.Now()
	if w.untilBytes { // how far by bytes
		el := now.Sub(w.start)
		done := min(float64(w.issued.Load())/float64(w.total), 1)
		return w.engine, done, float64(w.live.Load()) / max(el.Seconds(), 1e-9), 0, true
	}
	total := w.deadline.Sub(w.start)
	el := min(now.Sub(w.start), total)
	if el <= 0 {
		return w.engine, 0, 0, total, true
	}
	return w.engine, float64(el) / float64(total), float64(w.live.Load()) / el.Seconds(), total - el, true
}

// startWindow begins a run now and samples CPU time at the end of the ramp
// and at the deadline, on a goroutine of its own.
func startWindow(engine string, job Job) *window {
	w := &window{engine: engine, start: time.Now(), done: make(chan struct{}), ended: make(chan struct{}), total: job.TotalBytes}
	w.from = w.start.Add(job.Ramp)
	w.deadline = w.from.Add(job.Runtime)
	if w.untilBytes = job.Runtime == 0; w.untilBytes { // Validate allows it only with an io_size
		w.deadline = w.from.Add(100 * 365 * 24 * time.Hour) // never
	}
	current.Store(w)
	go func() {
		select {
		case <-time.After(time.Until(w.from)):
		case <-w.ended:
		}
		unix.Getrusage(unix.RUSAGE_SELF, &w.cpuFrom)
		select {
		case <-time.After(time.Until(w.deadline)):
		case <-w.ended:
		}
		unix.Getrusage(unix.RUSAGE_SELF, &w.cpuTo)
		w.stopped = time.Now()
		close(w.done)
	}()
	return w
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
	close(w.ended) // the queues have stopped: io_size may have ended the run early
	<-w.done
	current.CompareAndSwap(w, nil)
	end := w.stopped
	if end.After(w.deadline) {
		end = w.deadline
	}
	r := Result{Engine: engine, Job: job.Name, Elapsed: max(end.Sub(w.from), time.Millisecond)}
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
	return r, nil
}

func tvSeconds(tv unix.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }

// runQueues runs f once per job and per queue goroutine and waits.
func runQueues(n int, f func(i int, q *queueStats)) []*queueStats {
	qs := make([]*queueStats, n)
	var wg sync.WaitGroup
	for i := range n {
		qs[i] = newQueueStats()
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i, qs[i])
		}()
	}
	wg.Wait()
	return qs
}

// Compare runs the job on each engine in turn, repeat times, interleaved
// (a b c a b c ...: the machine's noise falls on every engine alike), and
// returns for each engine its run with the median IOPS.
func Compare(job Job, engines []Engine, repeat int, progress func(engine string, rep int)) ([]Result, error) {
	runs := make([][]Result, len(engines))
	for rep := range repeat {
		for i, e := range engines {
			if progress != nil {
				progress(e.Name(), rep)
			}
			if err := Prepare(job); err != nil {
				return nil, err
			}
			meter := startStallMeter()
			r, err := e.Run(job)
			r.Stalls = meter.stop()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", e.Name(), err)
			}
			runs[i] = append(runs[i], r)
		}
	}
	out := make([]Result, len(engines))
	for i, rs := range runs {
		sort.Slice(rs, func(a, b int) bool { return rs[a].IOPS < rs[b].IOPS })
		out[i] = rs[len(rs)/2]
	}
	return out, nil
}

// Prepare makes the job's file ready: for append, an empty file; for
// everything else, a file of Size bytes of written, non-zero data (reads of
// unwritten or sparse space would never reach the device), written once and
// reused while it is big enough.
func Prepare(job Job) error {
	if job.RW == Append || job.Prealloc {
		f, err := os.OpenFile(job.Filename, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return fmt.Errorf("cannot create %s: %w", job.Filename, err)
		}
		defer f.Close()
		if job.Prealloc {
			if err := unix.Fallocate(int(f.Fd()), 0, 0, job.Size); err != nil {
				return fmt.Errorf("fallocate %s: %w", job.Filename, err)
			}
		}
		return nil
	}
	var st unix.Stat_t
	if err := unix.Stat(job.Filename, &st); err == nil && st.Size >= job.Size && st.Blocks*512 >= job.Size && preparedForVerify(job) {
		return nil // written before (a file of that size with every block allocated)
	}
	flags := os.O_RDWR | os.O_CREATE
	if job.Direct {
		flags |= unix.O_DIRECT
	}
	f, err := os.OpenFile(job.Filename, flags, 0o644)
	if err != nil {
		if job.Direct && isEINVAL(err) {
			return fmt.Errorf("%s: the filesystem refuses O_DIRECT (tmpfs before Linux 6.6?); use --direct=0", job.Filename)
		}
		return fmt.Errorf("cannot open %s: %w", job.Filename, err)
	}
	defer f.Close()
	buf := aio.AlignedBuffer(1 << 20)
	for off := int64(0); off < job.Size; off += int64(len(buf)) {
		fillBlock(buf, uint64(off))
		if job.Verify != "" { // every block stamped as generation 0
			unit := job.minBS()
			for b := int64(0); b+unit <= int64(len(buf)); b += unit {
				stampBlock(buf[b:b+unit], off+b, 0, job.Seed)
			}
		}
		n := min(int64(len(buf)), job.Size-off)
		if job.Direct {
			n = (n + 511) / 512 * 512
		}
		if _, err := f.WriteAt(buf[:n], off); err != nil {
			return fmt.Errorf("writing %s: %w", job.Filename, err)
		}
	}
	return f.Sync()
}

// preparedForVerify reports whether the file's blocks carry this job's
// verify headers (judged by the first block), or the job does not verify.
func preparedForVerify(job Job) bool {
	if job.Verify == "" {
		return true
	}
	f, err := os.Open(job.Filename)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, job.minBS())
	if _, err := f.ReadAt(b, 0); err != nil {
		return false
	}
	return newStamper(&job).check(b, 0) == nil
}

func isEINVAL(err error) bool {
	pe, ok := err.(*os.PathError)
	return ok && pe.Err == unix.EINVAL
}

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

// openJobFile opens the job's file as the baseline engines use it: with
// O_DIRECT when the job asks for direct I/O.
func openJobFile(job Job) (*os.File, error) {
	flags := os.O_RDWR | os.O_CREATE
	if job.Direct {
		flags |= unix.O_DIRECT
	}
	f, err := os.OpenFile(job.Filename, flags, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", job.Filename, err)
	}
	return f, nil
}

// queueSlots makes a queue's depth aligned buffers, filled with data, and
// the stack of their free slot numbers.
func queueSlots(job Job, depth int, stream uint64) ([][]byte, []int) {
	bufs := make([][]byte, depth)
	free := make([]int, 0, depth)
	for i := range depth {
		bufs[i] = aio.AlignedBuffer(int(job.BS))
		fillBlock(bufs[i], uint64(i)+stream<<32)
		free = append(free, i)
	}
	return bufs, free
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
