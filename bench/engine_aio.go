package bench

import (
	"errors"
	"os"
	"sync/atomic"
	"time"

	"github.com/nowaitio/nowait/aio"
)

// AIOEngine runs the job through this runtime: one Context per job with
// IODepth slots, kept full; every Submit call is timed.
type AIOEngine struct {
	Config aio.Config // Backend, Shards...; QueueDepth defaults to the job's needs
}

func (AIOEngine) Name() string { return "aio" }

func (e AIOEngine) Run(job Job) (Result, error) {
	cfg := e.Config
	if cfg.QueueDepth == 0 {
		cfg.QueueDepth = max(64, nextPow2(job.IODepth*job.NumJobs+1))
	}
	rt, err := aio.New(cfg)
	if err != nil {
		return Result{}, err
	}
	defer rt.Close()
	f, err := rt.Open(job.Filename, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return Result{}, err
	}
	var appendOff atomic.Int64
	name := aioName(rt.Stats()) // in the live status line too
	w := startWindow(name, job)
	qs := runQueues(job.NumJobs, func(i int, q *queueStats) {
		aioQueue(rt, f, job, uint64(i), w, q, &appendOff)
	})
	res, err := w.finish(name, job, qs)
	st := rt.Stats()
	res.Stats = &st
	nameBackend(&res, st)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return res, err
}

func aioQueue(rt *aio.Runtime, f *aio.File, job Job, stream uint64, w *window, q *queueStats, appendOff *atomic.Int64) {
	depth := job.IODepth
	ctx, err := rt.NewContext(depth)
	if err != nil {
		q.fail(err)
		return
	}
	defer ctx.Close()
	gen := newOffsets(&job, stream)
	stamp := newStamper(&job)
	cbs := make([]aio.IOCB, depth)
	bufs, free := queueSlots(job, depth, stream)
	starts := make([]time.Time, depth)
	batch := make([]*aio.IOCB, 0, depth)
	events := make([]aio.Event, depth)
	writes := 0
	running := true
	for running || len(free) < depth {
		now := time.Now()
		batch = batch[:0]
		for running && len(free) > 0 {
			off, write := gen.nextOp()
			if running = w.issue(now, gen.size); !running {
				break
			}
			idx := free[len(free)-1]
			free = free[:len(free)-1]
			cb := &cbs[idx]
			*cb = aio.IOCB{Op: aio.OpRead, File: f, Buf: bufs[idx][:gen.size], Offset: off, UserData: uint64(idx)}
			if write {
				cb.Op = aio.OpWrite
				if job.RW == Append {
					cb.Offset = appendAt(appendOff, gen.size, job.Size)
				}
				if stamp != nil {
					stamp.stamp(cb.Buf, cb.Offset)
				}
				writes++
				if job.FsyncN > 0 && writes%job.FsyncN == 0 {
					cb.Op, cb.Buf, cb.Flags = aio.OpFdatasync, nil, aio.FlagBarrier
					if job.SyncFull {
						cb.Op = aio.OpFsync
					}
					writes = 0
				}
			}
			starts[idx] = now
			batch = append(batch, cb)
		}
		if len(batch) > 0 {
			t0 := time.Now()
			n, err := ctx.Submit(batch...)
			d := time.Since(t0)
			if w.measuring(t0) {
				q.slat.record(d)
			}
			if err != nil && !errors.Is(err, aio.ErrWouldBlock) {
				q.fail(err)
				return
			}
			for _, cb := range batch[n:] {
				free = append(free, int(cb.UserData))
			}
		}
		if len(free) == depth {
			continue // nothing in flight (the run just ended)
		}
		n, err := ctx.GetEvents(1, events, 100*time.Millisecond)
		if err != nil {
			q.fail(err)
			return
		}
		done := time.Now()
		for _, ev := range events[:n] {
			idx := int(ev.IOCB.UserData)
			if ev.Err == nil && stamp != nil && ev.IOCB.Op == aio.OpRead && ev.N == len(ev.IOCB.Buf) {
				if err := stamp.check(ev.IOCB.Buf, ev.IOCB.Offset); err != nil {
					q.verify.fail(err)
				}
			}
			if ev.Err != nil {
				q.fail(ev.Err)
			} else if w.measuring(done) && ev.IOCB.Op != aio.OpFdatasync && ev.IOCB.Op != aio.OpFsync {
				q.done(ev.IOCB.Op == aio.OpWrite, done.Sub(starts[idx]), int64(ev.N))
				w.live.Add(1)
			}
			free = append(free, idx)
		}
	}
}

func nextPow2(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}

// aioName is the aio engine's name: "aio" on io_uring, else "aio(" and
// the backend that ran.
func aioName(st aio.Stats) string {
	if st.Backend == aio.BackendIOUring.String() {
		return "aio"
	}
	return "aio(" + st.Backend + ")"
}

// nameBackend puts the backend that ran in the engine's name when it is
// not io_uring ("aio(syscall)"), with the runtime's reason in a note: the
// syscall backend's numbers are not the io_uring runtime's.
func nameBackend(r *Result, st aio.Stats) {
	if st.Backend == aio.BackendIOUring.String() {
		return
	}
	r.Engine = aioName(st)
	note := "the runtime ran on its " + st.Backend + " backend (blocking system calls on workers)"
	if st.BackendReason != "" {
		note += ": " + st.BackendReason
	}
	if r.Note != "" {
		note += "; " + r.Note
	}
	r.Note = note
}
