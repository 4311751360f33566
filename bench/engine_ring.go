package bench

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/ring"
)

// RingEngine is the bare ring: this project's io_uring binding with no
// planning and no NOWAIT, one ring per clone on a locked thread. It shows
// what the planning layer costs and what it saves: its submission latency
// is where the kernel's stalls appear.
type RingEngine struct{}

func (RingEngine) Name() string { return "ring" }

func (RingEngine) run(g *groupRun) ([]Result, error) {
	fds, closeAll, err := openFDs(g)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	perJob := func(j *Job) int { return j.NumJobs }
	return g.run("ring", perJob, func(jr *jobRun, i int, q *queueStats) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		depth := jr.job.IODepth
		r, err := ring.New(ring.Config{Entries: uint32(nextPow2(depth)), SingleIssuer: true, DeferTaskrun: true})
		if err != nil {
			q.fail(err)
			return
		}
		defer r.Close()
		d := newRingDriver(r, fds, depth)
		src := newJobSource(jr, jr.clones[i], uint64(i), q, true)
		if err := runQueue(d, src, newSlots(depth, jr.job.BS, uint64(i)), jr.job.batching()); err != nil {
			q.fail(err)
		}
	})
}

// pollBeforeSleep: like the runtime's submitter, poll a few microseconds
// for completions before sleeping in the kernel (docs/decisions.md).
const pollBeforeSleep = 5 * time.Microsecond

// ringDriver sends a queue's slots to a ring of its own, on a locked
// thread. Owner: that thread's goroutine.
type ringDriver struct {
	r      *ring.Ring
	fds    []int32
	cqes   []ring.CQE
	queued int // SQEs prepared since the last submit
}

func newRingDriver(r *ring.Ring, fds []int, depth int) *ringDriver {
	d := &ringDriver{r: r, cqes: make([]ring.CQE, depth)}
	for _, fd := range fds {
		d.fds = append(d.fds, int32(fd))
	}
	return d
}

func (d *ringDriver) queue(idx int, s *slot) {
	sqe, fd := d.r.NextSQE(), d.fds[s.file]
	switch s.kind {
	case opRead:
		sqe.PrepRead(fd, s.buf, uint64(s.off), 0)
	case opWrite:
		sqe.PrepWrite(fd, s.buf, uint64(s.off), 0)
	case opDatasync, opFsync:
		flags := uint32(ring.FsyncDatasync)
		if s.kind == opFsync {
			flags = 0
		}
		sqe.PrepFsync(fd, flags)
		sqe.Flags |= ring.SQEIODrain // after every earlier write: the bare ring's only barrier
	}
	sqe.UserData = uint64(idx)
	d.queued++
}

// submit sends the SQ. A busy ring keeps what it did not take in the SQ,
// sent by the next enter: every slot counts as taken.
func (d *ringDriver) submit() (int, error) {
	n := d.queued
	d.queued = 0
	if _, err := d.r.Submit(); err != nil && err != unix.EBUSY && err != unix.EAGAIN {
		return 0, err
	}
	return n, nil
}

func (d *ringDriver) wait(out []completion, min int) (int, error) {
	for t0 := time.Now(); !d.r.CompletionsPending() && time.Since(t0) < pollBeforeSleep; {
	}
	n := d.r.Reap(d.cqes[:len(out)])
	for n < min {
		if _, err := d.r.SubmitAndWait(uint32(min - n)); err != nil && err != unix.EBUSY && err != unix.EAGAIN {
			return 0, err
		}
		n += d.r.Reap(d.cqes[n:len(out)])
	}
	for i, c := range d.cqes[:n] {
		out[i] = completion{idx: int(c.UserData), res: max(int(c.Res), 0)}
		if c.Res < 0 {
			out[i].err = unix.Errno(-c.Res)
		}
	}
	return n, nil
}
