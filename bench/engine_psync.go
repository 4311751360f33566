package bench

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// PsyncEngine is the baseline: what a Go programmer writes without this
// project. One goroutine per queue slot calls unix.Pread or unix.Pwrite on
// an O_DIRECT file with an aligned buffer; IODepth goroutines per clone.
type PsyncEngine struct{}

func (PsyncEngine) Name() string { return "psync" }

func (PsyncEngine) run(g *groupRun) ([]Result, error) {
	fds, closeAll, err := openFDs(g)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	perJob := func(j *Job) int { return j.NumJobs * j.IODepth }
	return g.run("psync", perJob, func(jr *jobRun, i int, q *queueStats) {
		clone := jr.clones[i/jr.job.IODepth]
		src := newJobSource(jr, clone, uint64(i), q, false)
		if err := runQueue(&psyncDriver{fds: fds}, src, newSlots(1, jr.job.BS, uint64(i)), oneAtATime); err != nil {
			q.fail(err)
		}
	})
}

// psyncDriver does each I/O in the submit call itself: a queue of one.
// Owner: its goroutine.
type psyncDriver struct {
	fds  []int
	idx  int
	s    *slot
	done completion
}

// oneAtATime is a psync queue's batching: a queue of one.
var oneAtATime = batching{submit: 1, reapMin: 1, reapMax: 1, low: 1}

func (d *psyncDriver) queue(idx int, s *slot) { d.idx, d.s = idx, s }

func (d *psyncDriver) submit() (int, error) {
	s, fd := d.s, d.fds[d.s.file]
	var n int
	var err error
	switch s.kind {
	case opRead:
		n, err = unix.Pread(fd, s.buf, s.off)
	case opWrite:
		n, err = unix.Pwrite(fd, s.buf, s.off)
	case opDatasync:
		err = unix.Fdatasync(fd)
	case opFsync:
		err = unix.Fsync(fd)
	}
	if err != nil {
		err = fmt.Errorf("at %d: %w", s.off, err)
	}
	d.done = completion{idx: d.idx, res: n, err: err}
	return 1, nil
}

func (d *psyncDriver) wait(out []completion, _ int) (int, error) {
	out[0] = d.done
	return 1, nil
}

// openFDs opens the group's files as the baseline engines use them: with
// O_DIRECT when a job of the group using them asks for direct I/O, read-only when no
// job of the pass writes them.
func openFDs(g *groupRun) ([]int, func(), error) {
	fds := make([]int, 0, len(g.files))
	closeAll := func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	for i, f := range g.files {
		flags := unix.O_RDONLY | unix.O_CLOEXEC
		if f.writes {
			flags = unix.O_RDWR | unix.O_CLOEXEC
		}
		if g.direct[i] {
			flags |= unix.O_DIRECT
		}
		fd, err := unix.Open(f.path, flags, 0)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("cannot open %s: %w", f.path, err)
		}
		fds = append(fds, fd)
	}
	return fds, closeAll, nil
}
