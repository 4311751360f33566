package bench

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// fileRun is one file of an engine's pass over the jobs: what every job
// and clone that uses the file shares. It lives from the file's layout to
// the end of the pass, across groups, so that a verifying read in a later
// group knows what an earlier one wrote. Owner: shared by the queues that
// use it; its counters are atomic, the rest is set before they start.
type fileRun struct {
	path      string
	writes    bool         // some job of the pass writes it (else it is opened read-only)
	appendOff atomic.Int64 // where the next append goes
	// verify is the generation table of verified blocks, nil when no job
	// of the pass verifies the file.
	verify *unitTable
	handle int // index of the engine's open handle, per group
}

// jobRun is one job's run in a group: its window and clones. Owner: set
// up before its queues start; shared by them after.
type jobRun struct {
	job    *Job
	seed   uint64      // the job's seed, or with randrepeat=0 one of this run's
	failed atomic.Bool // an error ended the job (continue_on_error, verify_fatal)
	w      *window
	clones []*cloneRun
	stamp  *stamper
}

// cloneRun is one clone of a job (fio's numjobs makes clones), shared by
// the queues that run it: one for the aio and ring engines, IODepth
// goroutines for psync.
type cloneRun struct {
	index  int // among the job's clones
	files  []cloneFile
	issued atomic.Int64 // bytes issued, against total
	total  int64        // bytes the clone may issue (0: no bound)
	ops    atomic.Int64 // I/Os issued, against maxOps
	maxOps int64        // number_ios (0: no bound)
	writes atomic.Int64 // writes issued, for fsync=N
	// rate pacing: bytes and I/Os issued per direction since start.
	start     time.Time
	rateBytes [2]atomic.Int64
	rateOps   [2]atomic.Int64
}

// cloneFile is one file of a clone, with the clone's region of it and its
// sequential positions (one per direction, as fio keeps them).
type cloneFile struct {
	f          *fileRun
	base, size int64
	seq        [2]atomic.Int64
	verified   atomic.Int64 // the verify phase's next position
	perm       permutation  // the random map's order (not with norandommap)
	randPos    atomic.Uint64
}

// randomBlocks is how many random offsets a region of size bytes has:
// multiples of the alignment that leave room for the largest block.
func randomBlocks(j *Job, size int64) uint64 {
	unit := max(j.minBS(), j.BlockAlign)
	return uint64(max((size-j.BS)/unit+1, 1))
}

// issue reports whether another I/O of size bytes may start: the clone's
// bytes (and I/Os, for number_ios) are not used up.
func (c *cloneRun) issue(size int64) bool {
	if c.maxOps > 0 && c.ops.Add(1) > c.maxOps {
		return false
	}
	return c.total == 0 || c.issued.Add(size) <= c.total
}

// groupRun is the jobs that run at once on one engine (fio's jobs between
// stonewalls), with the files they use.
type groupRun struct {
	jobs   []*jobRun
	files  []*fileRun  // each file once; fileRun.handle indexes it
	direct []bool      // by handle: a job using the file does direct I/O
	halt   atomic.Bool // a job with exitall ended: the others end too
	// logSuffix goes after the prefix of fio's logs (the engine's name,
	// when several engines run).
	logSuffix string
}

// newGroupRun makes the run of jobs, taking their files from pass.
func newGroupRun(engine string, jobs []Job, pass map[string]*fileRun, start time.Time) *groupRun {
	g := &groupRun{}
	index := map[*fileRun]int{}
	for i := range jobs {
		job := &jobs[i]
		jr := &jobRun{job: job, stamp: newStamper(job), seed: job.Seed}
		if !job.RandRepeat {
			jr.seed = uint64(time.Now().UnixNano())
		}
		for c := range job.NumJobs {
			cr := &cloneRun{index: c, total: job.CloneBytes(), maxOps: job.NumberIOs, start: start.Add(job.StartDelay)}
			for _, spec := range job.Files(c) {
				fr := pass[spec.Path]
				if _, ok := index[fr]; !ok {
					index[fr] = len(g.files)
					fr.handle = len(g.files)
					g.files = append(g.files, fr)
					g.direct = append(g.direct, false)
				}
				g.direct[fr.handle] = g.direct[fr.handle] || job.Direct
				cr.files = append(cr.files, cloneFile{f: fr, base: spec.Base, size: spec.Size})
				if job.RW.random() && !job.NoRandomMap {
					cf := &cr.files[len(cr.files)-1]
					cf.perm = newPermutation(randomBlocks(job, spec.Size), jr.seed^uint64(c)<<32^uint64(len(cr.files))<<48)
				}
			}
			jr.clones = append(jr.clones, cr)
		}
		jr.w = newWindow(engine, *job, start.Add(job.StartDelay), jr.bytes())
		jr.w.halt = &g.halt
		g.jobs = append(g.jobs, jr)
	}
	return g
}

// bytes is what the job's clones may issue in all (0: no bound).
func (jr *jobRun) bytes() int64 {
	return jr.job.CloneBytes() * int64(len(jr.clones))
}

// run starts every job's queues and waits for them all: queue(jr, i, q)
// runs queue i of the job, perJob of them. It returns each job's result.
func (g *groupRun) run(engine string, perJob func(j *Job) int, queue func(jr *jobRun, i int, q *queueStats)) ([]Result, error) {
	qs := make([][]*queueStats, len(g.jobs))
	var all sync.WaitGroup
	for k, jr := range g.jobs {
		n := perJob(jr.job)
		qs[k] = make([]*queueStats, n)
		var job sync.WaitGroup // a job's window ends with its own queues, not its group's
		jr.w.begin()
		for i := range n {
			qs[k][i] = newQueueStats()
			job.Add(1)
			go func() {
				defer job.Done()
				jr.w.waitStart()
				queue(jr, i, qs[k][i])
			}()
		}
		all.Add(1)
		go func() {
			defer all.Done()
			job.Wait()
			if jr.job.ExitAll {
				g.halt.Store(true)
			}
			close(jr.w.ended)
		}()
	}
	all.Wait()
	out := make([]Result, len(g.jobs))
	var first error
	for k, jr := range g.jobs {
		r, err := jr.w.finish(engine, *jr.job, qs[k])
		r.Failed = jr.failed.Load()
		if err == nil && jr.job.logging() {
			err = writeLogs(jr.job, cloneLogs(len(jr.clones), qs[k]), g.logSuffix)
		}
		if err != nil && first == nil {
			first = fmt.Errorf("job %s: %w", jr.job.Name, err)
		}
		if len(g.jobs) > 1 {
			addNote(&r, "CPU per I/O is the whole process's over the job's time: other jobs ran beside it")
		}
		out[k] = r
	}
	return out, first
}

// cloneLogs gathers the queues' log entries by clone.
func cloneLogs(clones int, qs []*queueStats) [][]logEntry {
	out := make([][]logEntry, clones)
	for _, q := range qs {
		out[q.clone] = append(out[q.clone], q.log...)
	}
	return out
}

func addNote(r *Result, note string) {
	if r.Note != "" {
		note = r.Note + "; " + note
	}
	r.Note = note
}
