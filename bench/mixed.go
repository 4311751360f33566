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
	SyncEvery   int
	ReadSize    int64 // size of the file read from (written once)
	PreallocSz  int64 // size of the fallocate'd file
	Seed        uint64
}

// DefaultMixedJob is the job of docs/benchmarks.md.
func DefaultMixedJob(dir string) MixedJob {
	return MixedJob{Dir: dir, Depth: 64, Submissions: 200_000, SyncEvery: 1000,
		ReadSize: 1 << 30, PreallocSz: 256 << 20, Seed: 1}
}

type mixedFiles struct{ appendPath, preallocPath, readPath string }

func (m MixedJob) prepare() (mixedFiles, error) {
	fs := mixedFiles{filepath.Join(m.Dir, "mixed-append"), filepath.Join(m.Dir, "mixed-prealloc"), filepath.Join(m.Dir, "mixed-read")}
	if err := Prepare(Job{RW: RandRead, Filename: fs.readPath, Size: m.ReadSize, Direct: true}); err != nil {
		return fs, err
	}
	if err := Prepare(Job{RW: Append, Filename: fs.appendPath}); err != nil {
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

// RunMixed runs the mixed job on engine "aio" or "ring" and returns the
// submission latencies (and the rest of a Result).
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
	meter := startStallMeter()
	r, err := run(m, files)
	r.Stalls = meter.stop()
	return r, err
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

func runMixedAIO(m MixedJob, files mixedFiles) (Result, error) {
	rt, err := aio.New(aio.Config{QueueDepth: nextPow2(m.Depth * 2), Shards: mixedShards, Workers: mixedWorkers})
	if err != nil {
		return Result{}, err
	}
	defer rt.Close()
	var fs [3]*aio.File
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
	gen := &mixedGen{job: m, rng: rand.New(rand.NewPCG(m.Seed, 1))}
	q := newQueueStats()
	cbs := make([]aio.IOCB, m.Depth)
	starts := make([]time.Time, m.Depth)
	free := make([]int, 0, m.Depth)
	for i := range m.Depth {
		cbs[i].Buf = aio.AlignedBuffer(4096)
		free = append(free, i)
	}
	bufs := make([][]byte, m.Depth)
	for i := range bufs {
		bufs[i] = cbs[i].Buf
	}
	batch := make([]*aio.IOCB, 0, m.Depth)
	events := make([]aio.Event, m.Depth)
	var cpu0 unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &cpu0)
	start := time.Now()
	submissions := 0
	for submissions < m.Submissions || len(free) < m.Depth {
		batch = batch[:0]
		now := time.Now()
		for submissions < m.Submissions && len(free) > 0 {
			idx := free[len(free)-1]
			free = free[:len(free)-1]
			op := gen.next()
			cb := &cbs[idx]
			*cb = aio.IOCB{Op: aio.OpRead, File: fs[op.file], Buf: bufs[idx][:op.size], Offset: op.off, UserData: uint64(idx)}
			switch {
			case op.sync:
				cb.Op, cb.Buf, cb.Flags = aio.OpFdatasync, nil, aio.FlagBarrier
			case op.write:
				cb.Op = aio.OpWrite
			}
			starts[idx] = now
			batch = append(batch, cb)
		}
		if len(batch) > 0 {
			t0 := time.Now()
			n, err := ctx.Submit(batch...)
			q.slat.record(time.Since(t0))
			submissions++
			if err != nil && !errors.Is(err, aio.ErrWouldBlock) {
				return Result{}, err
			}
			for _, cb := range batch[n:] {
				free = append(free, int(cb.UserData))
			}
		}
		n, err := ctx.GetEvents(1, events, time.Second)
		if err != nil {
			return Result{}, err
		}
		done := time.Now()
		for _, ev := range events[:n] {
			idx := int(ev.IOCB.UserData)
			if ev.Err != nil {
				q.fail(ev.Err)
			} else {
				q.lat.record(done.Sub(starts[idx]))
				q.ops++
				q.bytes += int64(ev.N)
			}
			free = append(free, idx)
		}
	}
	res := mixedResult("aio", q, start, cpu0)
	st := rt.Stats()
	res.Stats = &st
	nameBackend(&res, st)
	return res, nil
}

func runMixedRing(m MixedJob, files mixedFiles) (Result, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var fds [3]int32
	for i, p := range []string{files.appendPath, files.preallocPath, files.readPath} {
		fd, err := unix.Open(p, unix.O_RDWR|unix.O_DIRECT|unix.O_CLOEXEC, 0)
		if err != nil {
			return Result{}, fmt.Errorf("open %s: %w", p, err)
		}
		defer unix.Close(fd)
		fds[i] = int32(fd)
	}
	r, err := ring.New(ring.Config{Entries: uint32(nextPow2(m.Depth)), SingleIssuer: true, DeferTaskrun: true})
	if err != nil {
		return Result{}, err
	}
	defer r.Close()
	gen := &mixedGen{job: m, rng: rand.New(rand.NewPCG(m.Seed, 1))}
	q := newQueueStats()
	bufs := make([][]byte, m.Depth)
	starts := make([]time.Time, m.Depth)
	free := make([]int, 0, m.Depth)
	for i := range m.Depth {
		bufs[i] = aio.AlignedBuffer(4096)
		free = append(free, i)
	}
	cqes := make([]ring.CQE, m.Depth)
	var cpu0 unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &cpu0)
	start := time.Now()
	submissions, inflight := 0, 0
	for submissions < m.Submissions || inflight > 0 {
		now := time.Now()
		for submissions < m.Submissions && len(free) > 0 {
			idx := free[len(free)-1]
			free = free[:len(free)-1]
			op := gen.next()
			s := r.NextSQE()
			switch {
			case op.sync:
				s.PrepFsync(fds[op.file], ring.FsyncDatasync)
				s.Flags |= ring.SQEIODrain // after every earlier write: the bare ring's only barrier
			case op.write:
				s.PrepWrite(fds[op.file], bufs[idx][:op.size], uint64(op.off), 0)
			default:
				s.PrepRead(fds[op.file], bufs[idx][:op.size], uint64(op.off), 0)
			}
			s.UserData = uint64(idx)
			starts[idx] = now
			inflight++
		}
		if r.SQPending() > 0 {
			t0 := time.Now()
			_, err := r.Submit()
			q.slat.record(time.Since(t0))
			submissions++
			if err != nil && err != unix.EBUSY && err != unix.EAGAIN {
				return Result{}, err
			}
		}
		if !r.CompletionsPending() {
			if _, err := r.SubmitAndWait(1); err != nil && err != unix.EBUSY && err != unix.EAGAIN {
				return Result{}, err
			}
		}
		n := r.Reap(cqes)
		done := time.Now()
		for _, c := range cqes[:n] {
			idx := int(c.UserData)
			if c.Res < 0 {
				q.fail(unix.Errno(-c.Res))
			} else {
				q.lat.record(done.Sub(starts[idx]))
				q.ops++
				q.bytes += int64(c.Res)
			}
			free = append(free, idx)
			inflight--
		}
	}
	return mixedResult("ring", q, start, cpu0), nil
}

var mixedShards, mixedWorkers int
