package bench

import (
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/aio"
)

// PsyncEngine is the baseline: what a Go programmer writes without this
// project. One goroutine per queue slot calls unix.Pread or unix.Pwrite on
// an O_DIRECT file with an aligned buffer; IODepth goroutines per job.
type PsyncEngine struct{}

func (PsyncEngine) Name() string { return "psync" }

func (PsyncEngine) Run(job Job) (Result, error) {
	f, err := openJobFile(job)
	if err != nil {
		return Result{}, err
	}
	defer f.Close()
	fd := int(f.Fd())
	var appendOff, writes atomic.Int64
	stamp := newStamper(&job)
	w := startWindow("psync", job)
	qs := runQueues(job.NumJobs*job.IODepth, func(i int, q *queueStats) {
		gen := newOffsets(&job, uint64(i))
		full := aio.AlignedBuffer(int(job.BS))
		fillBlock(full, uint64(i))
		for {
			t0 := time.Now()
			off, write := gen.nextOp()
			if !w.issue(t0, gen.size) {
				return
			}
			buf := full[:gen.size]
			var n int
			var err error
			if write {
				if job.RW == Append {
					off = appendAt(&appendOff, gen.size, job.Size)
				}
				if stamp != nil {
					stamp.stamp(buf, off)
				}
				n, err = unix.Pwrite(fd, buf, off)
				if job.FsyncN > 0 && writes.Add(1)%int64(job.FsyncN) == 0 && err == nil {
					if job.SyncFull {
						err = unix.Fsync(fd)
					} else {
						err = unix.Fdatasync(fd)
					}
				}
			} else {
				n, err = unix.Pread(fd, buf, off)
				if err == nil && n == len(buf) && stamp != nil {
					if verr := stamp.check(buf, off); verr != nil {
						q.verify.fail(verr)
					}
				}
			}
			done := time.Now()
			if err != nil {
				q.fail(fmt.Errorf("at %d: %w", off, err))
				if q.errs > 100 {
					return
				}
				continue
			}
			if w.measuring(done) {
				q.done(write, done.Sub(t0), int64(n))
				w.live.Add(1)
			}
		}
	})
	return w.finish("psync", job, qs)
}
