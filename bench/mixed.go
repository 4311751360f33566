package bench

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/aio"
	"github.com/nowaitio/nowait/ring"
)

// MixedJob is the "submit never blocks" workload: at queue depth Depth, a
// third each of 4 KiB appends to one file, 512-byte random writes into a
// fallocate'd file, and 4 KiB random reads of a written file, with an
// fdatasync (ordered after earlier writes) every SyncEvery writes. Every
// submission call is timed, until Submissions of them.
type MixedJob struct {
	Dir         string
	Depth       int
	Submissions int
	Runtime     time.Duration // 0: until Submissions; else whichever comes first
	SyncEvery   int
	ReadSize    int64 // size of the file read from (written once)
	window      *window
	PreallocSz  int64 // size of the fallocate'd file
	Seed        uint64
	// BatchSubmit and BatchCompleteMax batch the queue as a Job's options
	// of those names do (fio's iodepth_batch_submit and
	// iodepth_batch_complete_max): by default, as fio, each I/O is
	// submitted as soon as it is ready, one Submit call each, and each
	// wait takes one completion.
	BatchSubmit, BatchCompleteMax int
}

func (m MixedJob) batching() batching {
	j := Job{IODepth: m.Depth, BatchSubmit: m.BatchSubmit, BatchCompleteMin: 1, BatchCompleteMax: m.BatchCompleteMax}
	return j.batching()
}

// DefaultMixedJob is the job of docs/benchmarks.md.
func DefaultMixedJob(dir string) MixedJob {
	return MixedJob{Dir: dir, Depth: 64, Submissions: 1_000_000, SyncEvery: 1000,
		ReadSize: 1 << 30, PreallocSz: 256 << 20, Seed: 1, BatchSubmit: 1}
}

type mixedFiles struct{ appendPath, preallocPath, readPath string }

func (m MixedJob) prepare() (mixedFiles, error) {
	fs := mixedFiles{filepath.Join(m.Dir, "mixed-append"), filepath.Join(m.Dir, "mixed-prealloc"), filepath.Join(m.Dir, "mixed-read")}
	if size, ok := existingSize(fs.readPath); !ok || size < m.ReadSize || !allocated(fs.readPath, m.ReadSize) {
		if err := layOut(fs.readPath, m.ReadSize, &usage{}); err != nil {
			return fs, err
		}
	}
	if err := os.WriteFile(fs.appendPath, nil, 0o644); err != nil {
		return fs, err
	}
	os.Remove(fs.preallocPath)
	f, err := os.OpenFile(fs.preallocPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fs, err
	}
	defer f.Close()
	if err := unix.Fallocate(int(f.Fd()), 0, 0, m.PreallocSz); err != nil {
		return fs, fmt.Errorf("fallocate %s: %w", fs.preallocPath, err)
	}
	return fs, nil
}

// mixedOp is one I/O of the mix.
type mixedOp struct {
	file  int // 0 append, 1 prealloc, 2 read
	off   int64
	size  int64
	write bool
	sync  bool
}

type mixedGen struct {
	job       MixedJob
	rng       *rand.Rand
	appendOff int64
	writes    int
}

func (g *mixedGen) next() mixedOp {
	if g.writes >= g.job.SyncEvery {
		g.writes = 0
		return mixedOp{file: 1, sync: true}
	}
	switch g.rng.IntN(3) {
	case 0:
		off := g.appendOff
		g.appendOff += 4096
		g.writes++
		return mixedOp{file: 0, off: off, size: 4096, write: true}
	case 1:
		g.writes++
		return mixedOp{file: 1, off: g.rng.Int64N(g.job.PreallocSz/512) * 512, size: 512, write: true}
	}
	return mixedOp{file: 2, off: g.rng.Int64N(g.job.ReadSize/4096) * 4096, size: 4096}
}

// RunMixed runs the mixed job on engine "aio" or "ring" and
// returns the submission latencies (and the rest of a Result).
func RunMixed(m MixedJob, engine string) (Result, error) {
	if m.Depth < 1 || m.Submissions < 1 || m.SyncEvery < 1 {
		return Result{}, errors.New("mixed job needs a positive depth, submissions and sync interval")
	}
	files, err := m.prepare()
	if err != nil {
		return Result{}, err
	}
	var run func(MixedJob, mixedFiles) (Result, error)
	switch engine {
	case "aio":
		run = runMixedAIO
	case "ring":
		run = runMixedRing
	default:
		return Result{}, fmt.Errorf("the mixed job runs on aio or ring, not %q", engine)
	}
	// A window for the status line: submissions stand for bytes.
	w := newWindow(engine, Job{Runtime: m.Runtime}, time.Now(), int64(m.Submissions))
	w.begin()
	m.window = w
	meter := startStallMeter()
	r, err := run(m, files)
	r.Stalls = meter.stop()
	close(w.ended)
	w.end()
	return r, err
}

// RemoveMixedFiles removes the mixed job's files from dir (they are the
// job's scratch: 1.3 GiB of them).
func RemoveMixedFiles(dir string) {
	for _, name := range []string{"mixed-append", "mixed-prealloc", "mixed-read"} {
		os.Remove(filepath.Join(dir, name))
	}
}

func mixedResult(engine string, q *queueStats, start time.Time, cpu0 unix.Rusage) Result {
	var cpu1 unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &cpu1)
	r := Result{Engine: engine, Job: "mixed", Ops: q.ops, Bytes: q.bytes, Elapsed: time.Since(start),
		Lat: q.lat.percentiles(), Slat: q.slat.percentiles(), Errors: q.errs}
	r.IOPS = float64(r.Ops) / r.Elapsed.Seconds()
	r.BWBytes = float64(r.Bytes) / r.Elapsed.Seconds()
	r.CPUUser = tvSeconds(cpu1.Utime) - tvSeconds(cpu0.Utime)
	r.CPUSys = tvSeconds(cpu1.Stime) - tvSeconds(cpu0.Stime)
	if r.Ops > 0 {
		r.CPUPerIONs = (r.CPUUser + r.CPUSys) * 1e9 / float64(r.Ops)
	}
	if q.firstErr != nil {
		r.Note = fmt.Sprintf("%d errors, the first: %v", q.errs, q.firstErr)
	}
	return r
}

// mixedSource is the mixed job's choice of I/Os, with every submit call
// timed, until Submissions of them. Owner: the queue's goroutine.
type mixedSource struct {
	gen         *mixedGen
	q           *queueStats
	w           *window
	submissions int
	limit       int
}

func (m *mixedSource) next(s *slot, now *time.Time, idle bool) nextState {
	if m.submissions >= m.limit || !now.Before(m.w.deadline) || interrupted.Load() {
		return nextStop
	}
	op := m.gen.next()
	*s = slot{kind: opRead, file: op.file, off: op.off, mem: s.mem, buf: s.mem[:op.size]}
	switch {
	case op.sync:
		s.kind, s.buf = opDatasync, nil
	case op.write:
		s.kind = opWrite
	}
	return nextIssue
}

func (m *mixedSource) submitted(t0 time.Time, d time.Duration) {
	m.q.slat.record(d)
	m.submissions++
	m.w.issued.Add(1)
}

func (m *mixedSource) unsent(s *slot) {}

func (m *mixedSource) done(s *slot, c completion, at time.Time) {
	if c.err != nil {
		m.q.fail(c.err)
	} else if !s.kind.isSync() {
		m.q.done(s.kind == opWrite, at.Sub(s.start), int64(c.res))
		m.w.live.Add(1)
	}
}

func (m MixedJob) source(q *queueStats) *mixedSource {
	return &mixedSource{gen: &mixedGen{job: m, rng: rand.New(rand.NewPCG(m.Seed, 1))}, q: q, w: m.window, limit: m.Submissions}
}

// runMixedAIO runs it through a Context.
func runMixedAIO(m MixedJob, files mixedFiles) (Result, error) {
	rt, err := aio.New(aio.Config{QueueDepth: nextPow2(m.Depth * 2), Shards: mixedShards, Workers: mixedWorkers})
	if err != nil {
		return Result{}, err
	}
	defer rt.Close()
	fs := make([]*aio.File, 3)
	for i, p := range []string{files.appendPath, files.preallocPath, files.readPath} {
		if fs[i], err = rt.Open(p, os.O_RDWR, 0); err != nil {
			return Result{}, err
		}
	}
	ctx, err := rt.NewContext(m.Depth)
	if err != nil {
		return Result{}, err
	}
	defer ctx.Close()
	q := newQueueStats()
	d := &aioDriver{ctx: ctx, files: fs, cbs: make([]aio.IOCB, m.Depth),
		batch: make([]*aio.IOCB, 0, m.Depth), events: make([]aio.Event, m.Depth)}
	var cpu0 unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &cpu0)
	start := time.Now()
	if err := runQueue(d, m.source(q), newSlots(m.Depth, 4096, 0), m.batching()); err != nil {
		return Result{}, err
	}
	res := mixedResult("aio", q, start, cpu0)
	st := rt.Stats()
	res.Stats = &st
	nameBackend(&res, "aio", st)
	return res, nil
}

func runMixedRing(m MixedJob, files mixedFiles) (Result, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var fds []int
	for _, p := range []string{files.appendPath, files.preallocPath, files.readPath} {
		fd, err := unix.Open(p, unix.O_RDWR|unix.O_DIRECT|unix.O_CLOEXEC, 0)
		if err != nil {
			return Result{}, fmt.Errorf("open %s: %w", p, err)
		}
		defer unix.Close(fd)
		fds = append(fds, fd)
	}
	r, err := ring.New(ring.Config{Entries: uint32(nextPow2(m.Depth)), SingleIssuer: true, DeferTaskrun: true})
	if err != nil {
		return Result{}, err
	}
	defer r.Close()
	q := newQueueStats()
	var cpu0 unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &cpu0)
	start := time.Now()
	if err := runQueue(newRingDriver(r, fds, m.Depth), m.source(q), newSlots(m.Depth, 4096, 0), m.batching()); err != nil {
		return Result{}, err
	}
	return mixedResult("ring", q, start, cpu0), nil
}

var mixedShards, mixedWorkers int
