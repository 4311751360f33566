package bench

import (
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/ring"
)

// RingEngine is the bare ring: this project's io_uring binding with no
// planning and no NOWAIT, one ring per job on a locked thread. It shows
// what the planning layer costs and what it saves: its submission latency
// is where the kernel's stalls appear.
type RingEngine struct{}

func (RingEngine) Name() string { return "ring" }

func (RingEngine) Run(job Job) (Result, error) {
	f, err := openJobFile(job)
	if err != nil {
		return Result{}, err
	}
	defer f.Close()
	var appendOff atomic.Int64
	w := startWindow("ring", job)
	qs := runQueues(job.NumJobs, func(i int, q *queueStats) {
		ringQueue(int32(f.Fd()), job, uint64(i), w, q, &appendOff)
	})
	return w.finish("ring", job, qs)
}

// pollBeforeSleep: like the runtime's submitter, poll a few microseconds
// for completions before sleeping in the kernel (docs/decisions.md).
const pollBeforeSleep = 5 * time.Microsecond

func ringQueue(fd int32, job Job, stream uint64, w *window, q *queueStats, appendOff *atomic.Int64) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	depth := job.IODepth
	r, err := ring.New(ring.Config{Entries: uint32(nextPow2(depth)), SingleIssuer: true, DeferTaskrun: true})
	if err != nil {
		q.fail(err)
		return
	}
	defer r.Close()
	gen := newOffsets(&job, stream)
	stamp := newStamper(&job)
	bufs, free := queueSlots(job, depth, stream)
	offs := make([]int64, depth)
	isRead := make([]bool, depth)
	starts := make([]time.Time, depth)
	isSync := make([]bool, depth)
	lens := make([]int, depth)
	cqes := make([]ring.CQE, depth)
	writes := 0
	running := true
	for running || len(free) < depth {
		now := time.Now()
		for running && len(free) > 0 {
			off, write := gen.nextOp()
			if running = w.issue(now, gen.size); !running {
				break
			}
			idx := free[len(free)-1]
			free = free[:len(free)-1]
			buf := bufs[idx][:gen.size]
			lens[idx] = len(buf)
			s := r.NextSQE()
			isSync[idx], isRead[idx] = false, !write
			switch {
			case !write:
				s.PrepRead(fd, buf, uint64(off), 0)
			default:
				if job.RW == Append {
					off = appendAt(appendOff, gen.size, job.Size)
				}
				if stamp != nil {
					stamp.stamp(buf, off)
				}
				s.PrepWrite(fd, buf, uint64(off), 0)
				writes++
				if job.FsyncN > 0 && writes%job.FsyncN == 0 {
					if job.SyncFull {
						s.PrepFsync(fd, 0)
					} else {
						s.PrepFsync(fd, ring.FsyncDatasync)
					}
					s.Flags |= ring.SQEIODrain
					isSync[idx] = true
				}
			}
			s.UserData = uint64(idx)
			starts[idx], offs[idx] = now, off
		}
		if r.SQPending() > 0 {
			t0 := time.Now()
			_, err := r.Submit()
			if d := time.Since(t0); w.measuring(t0) {
				q.slat.record(d)
			}
			if err != nil && err != unix.EBUSY && err != unix.EAGAIN {
				q.fail(err)
				return
			}
		}
		if len(free) == depth {
			continue // nothing in flight (the run just ended)
		}
		for t0 := time.Now(); !r.CompletionsPending() && time.Since(t0) < pollBeforeSleep; {
		}
		if !r.CompletionsPending() {
			if _, err := r.SubmitAndWait(1); err != nil && err != unix.EBUSY && err != unix.EAGAIN {
				q.fail(err)
				return
			}
		}
		n := r.Reap(cqes)
		done := time.Now()
		for _, c := range cqes[:n] {
			idx := int(c.UserData)
			if stamp != nil && isRead[idx] && int(c.Res) == lens[idx] {
				if err := stamp.check(bufs[idx][:lens[idx]], offs[idx]); err != nil {
					q.verify.fail(err)
				}
			}
			if c.Res < 0 {
				q.fail(unix.Errno(-c.Res))
			} else if w.measuring(done) && !isSync[idx] {
				q.done(!isRead[idx], done.Sub(starts[idx]), int64(c.Res))
				w.live.Add(1)
			}
			free = append(free, idx)
		}
	}
}
