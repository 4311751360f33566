package bench

import (
	"errors"
	"os"

	"github.com/nowaitio/nowait/aio"
)

// AIOEngine runs the jobs through this runtime, one Runtime per group:
// one Context per clone with IODepth slots, kept full; every Submit call
// is timed. Submit places each I/O in the Context's ring and returns; the
// queue's next wait (GetEvents) submits what is placed and waits in one
// io_uring_enter, so I/Os placed while completions were being taken go
// to the kernel together (fio's iodepth_batch_submit=1 submits each one
// with an io_uring_enter of its own: compare fio with
// --iodepth_batch_submit and --iodepth_batch_complete_max as well).
type AIOEngine struct {
	Config aio.Config // Backend, Shards...; QueueDepth defaults to the job's needs
}

func (e AIOEngine) Name() string { return "aio" }

func (e AIOEngine) run(g *groupRun) ([]Result, error) {
	cfg := e.Config
	if cfg.QueueDepth == 0 {
		slots := 0
		for _, jr := range g.jobs {
			slots += jr.job.IODepth * jr.job.NumJobs
		}
		cfg.QueueDepth = max(64, nextPow2(slots+1))
	}
	rt, err := aio.New(cfg)
	if err != nil {
		return nil, err
	}
	defer rt.Close()
	files := make([]*aio.File, len(g.files))
	for i, f := range g.files {
		flag := os.O_RDONLY
		if f.writes {
			flag = os.O_RDWR
		}
		if files[i], err = rt.Open(f.path, flag, 0); err != nil {
			return nil, err
		}
	}
	name := aioName(e.Name(), rt.Stats()) // in the live status line too
	perJob := func(j *Job) int { return j.NumJobs }
	res, err := g.run(name, perJob, func(jr *jobRun, i int, q *queueStats) {
		depth := jr.job.IODepth
		ctx, err := rt.NewContext(depth)
		if err != nil {
			q.fail(err)
			return
		}
		defer ctx.Close()
		d := &aioDriver{ctx: ctx, files: files, cbs: make([]aio.IOCB, depth),
			batch: make([]*aio.IOCB, 0, depth), events: make([]aio.Event, depth)}
		src := newJobSource(jr, jr.clones[i], uint64(i), q, true)
		if err := runQueue(d, src, newSlots(depth, jr.job.BS, uint64(i)), jr.job.batching()); err != nil {
			q.fail(err)
		}
	})
	st := rt.Stats()
	for i := range res {
		res[i].Stats = &st
		nameBackend(&res[i], e.Name(), st)
	}
	for _, f := range files {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}
	return res, err
}

// aioDriver sends a queue's slots through one Context. Owner: the queue's
// goroutine.
type aioDriver struct {
	ctx    *aio.Context
	files  []*aio.File
	cbs    []aio.IOCB
	batch  []*aio.IOCB
	events []aio.Event
}

func (d *aioDriver) queue(idx int, s *slot) {
	cb := &d.cbs[idx]
	*cb = aio.IOCB{Op: aio.OpRead, File: d.files[s.file], Buf: s.buf, Offset: s.off, UserData: uint64(idx)}
	switch s.kind {
	case opWrite:
		cb.Op = aio.OpWrite
	case opDatasync:
		cb.Op, cb.Buf, cb.Flags = aio.OpFdatasync, nil, aio.FlagBarrier
	case opFsync:
		cb.Op, cb.Buf, cb.Flags = aio.OpFsync, nil, aio.FlagBarrier
	}
	d.batch = append(d.batch, cb)
}

func (d *aioDriver) submit() (int, error) {
	n, err := d.ctx.Submit(d.batch...)
	d.batch = d.batch[:0]
	if errors.Is(err, aio.ErrWouldBlock) {
		err = nil
	}
	return n, err
}

func (d *aioDriver) wait(out []completion, min int) (int, error) {
	// No timeout, as fio and the bare ring wait: the queue reaps only with
	// I/O in flight, and a timed wait arms a kernel timer each time (2-3
	// µs of CPU per wait at depth 1 here: decisions.md).
	n, err := d.ctx.GetEvents(min, d.events[:len(out)], -1)
	for i, ev := range d.events[:n] {
		out[i] = completion{idx: int(ev.IOCB.UserData), res: ev.N, err: ev.Err}
	}
	return n, err
}

func nextPow2(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}

// aioName is the aio engine's name (base) on io_uring, else base, "("
// and the backend that ran.
func aioName(base string, st aio.Stats) string {
	if st.Backend == aio.BackendIOUring.String() {
		return base
	}
	return base + "(" + st.Backend + ")"
}

// nameBackend puts the backend that ran in the engine's name when it is
// not io_uring ("aio(syscall)"), with the runtime's reason in a note: the
// syscall backend's numbers are not the io_uring runtime's.
func nameBackend(r *Result, base string, st aio.Stats) {
	if st.Backend == aio.BackendIOUring.String() {
		return
	}
	r.Engine = aioName(base, st)
	note := "the runtime ran on its " + st.Backend + " backend (blocking system calls on workers)"
	if st.BackendReason != "" {
		note += ": " + st.BackendReason
	}
	if r.Note != "" {
		note += "; " + r.Note
	}
	r.Note = note
}
