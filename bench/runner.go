package bench

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// Runner runs a list of jobs on each engine, as fio runs a job file: the
// jobs between stonewalls at once, those groups one after another. Each
// engine makes a pass over all the jobs, so that a later job sees what an
// earlier one wrote (a write job, then a job verifying it), and each pass
// starts from files in the same state: iobench lays out again, before each
// pass, the files it made and a pass wrote, and every file a verifying
// job uses unless it is as laid out.
type Runner struct {
	Engines []Engine
	Repeat  int // passes per engine, interleaved (a b a b): each job's median run is reported
	// Progress, when set, is told of each pass before it starts.
	Progress func(engine string, rep int)
	// Notice, when set, is told what the runner does to files a user
	// should know of: an existing file overwritten or extended.
	Notice func(msg string)

	files map[string]*fileState
}

// fileState is what the runner knows of one file across passes. Owner:
// the runner's goroutine.
type fileState struct {
	created   bool // iobench made it in this process
	pristine  bool // as laid out, not written since
	stamped   bool // laid out with verify headers
	unwritten bool // laid out fallocate'd, never written
	noticed   bool // the user was told it is overwritten
}

// Groups splits jobs into the groups fio runs one after another: a job
// with stonewall starts a new one. It returns each group's job indices.
func Groups(jobs []Job) [][]int {
	var gs [][]int
	for i, j := range jobs {
		if i == 0 || j.Stonewall {
			gs = append(gs, nil)
		}
		gs[len(gs)-1] = append(gs[len(gs)-1], i)
	}
	return gs
}

// Run runs every engine over the jobs, Repeat times, and returns for each
// job (by index) each engine's result: the run with the median IOPS of the
// job's runs on that engine. After Interrupt, it returns what ran: a job
// that did not run has no results.
func (r *Runner) Run(jobs []Job) ([][]Result, error) {
	if r.files == nil {
		r.files = map[string]*fileState{}
	}
	repeat := max(r.Repeat, 1)
	runs := make([][][]Result, len(jobs)) // job, engine, repeat
	for i := range runs {
		runs[i] = make([][]Result, len(r.Engines))
	}
	for rep := range repeat {
		for e, eng := range r.Engines {
			if interrupted.Load() {
				break
			}
			if r.Progress != nil {
				r.Progress(eng.Name(), rep)
			}
			res, err := r.pass(eng, jobs)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", eng.Name(), err)
			}
			for i, rs := range res {
				if rs != nil {
					runs[i][e] = append(runs[i][e], *rs)
				}
			}
		}
	}
	out := make([][]Result, len(jobs))
	for i := range jobs {
		for _, rs := range runs[i] {
			if len(rs) == 0 {
				continue
			}
			sort.Slice(rs, func(a, b int) bool { return rs[a].IOPS < rs[b].IOPS })
			out[i] = append(out[i], rs[len(rs)/2])
		}
	}
	return out, nil
}

// pass runs every group of the jobs on one engine, in order.
func (r *Runner) pass(eng Engine, jobs []Job) ([]*Result, error) {
	_, isFio := eng.(FioEngine)
	files, err := r.layout(jobs, isFio)
	if err != nil {
		return nil, err
	}
	out := make([]*Result, len(jobs))
	exited := false // a job with exitall ended the run
	for _, idx := range Groups(jobs) {
		if interrupted.Load() {
			break
		}
		if exited { // fio runs no later job either, and reports each with nothing done
			for _, i := range idx {
				out[i] = &Result{Engine: eng.Name(), Job: jobs[i].Name, Note: "not run: a job with exitall ended the run before it, as in fio"}
			}
			continue
		}
		group := make([]Job, len(idx))
		for k, i := range idx {
			group[k] = jobs[i]
			if err := prepareJob(group[k], files); err != nil {
				return nil, err
			}
		}
		g := newGroupRun(eng.Name(), group, files, time.Now())
		if len(r.Engines) > 1 {
			g.logSuffix = "-" + eng.Name()
		}
		meter := startStallMeter()
		res, err := eng.run(g)
		stalls := meter.stop()
		for _, j := range group {
			exited = exited || j.ExitAll // it ended its group, and so the run (the fio engine's too)
		}
		if err != nil {
			return nil, err
		}
		for k, i := range idx {
			res[k].Stalls = stalls
			out[i] = &res[k]
			r.afterJob(jobs[i])
		}
	}
	return out, nil
}

// afterJob marks the files a job wrote as no longer as laid out, and
// removes them if the job asks (unlink).
func (r *Runner) afterJob(j Job) {
	for _, f := range j.allFiles() {
		st := r.files[f.Path]
		if j.RW.writes() {
			st.pristine = false
		}
		if j.Unlink && !isDevice(f.Path) {
			os.Remove(f.Path)
			delete(r.files, f.Path)
		}
	}
}

// usage is what the jobs of a pass need of one file.
type usage struct {
	spec    FileSpec // the largest region
	writes  bool
	reads   bool // some job reads it (or overwrite=1): it is laid out with data
	sparse  bool // fallocate=none: a write-only file is made sparse
	appends bool // every job using it makes it anew (append, prealloc)
	verify  *Job // the first job that verifies it
	unit    int64
}

func usages(jobs []Job) ([]string, map[string]*usage, error) {
	var order []string
	us := map[string]*usage{}
	for i := range jobs {
		j := &jobs[i]
		for _, f := range j.allFiles() {
			u := us[f.Path]
			if u == nil {
				u = &usage{spec: f, appends: true}
				us[f.Path] = u
				order = append(order, f.Path)
			}
			if f.End() > u.spec.End() {
				u.spec = f
			}
			u.writes = u.writes || j.RW.writes()
			u.reads = u.reads || j.RW.reads() || j.Overwrite
			u.sparse = u.sparse || j.NoFallocate
			u.appends = u.appends && (j.RW == Append || j.Prealloc)
			if j.Verify != "" {
				if u.verify == nil {
					u.verify = j
				}
				if u.unit != 0 && u.unit != j.minBS() {
					return nil, nil, fmt.Errorf("jobs %s and %s verify %s in blocks of %d and %d bytes: a verified block is the job's smallest block size, and both must check the same blocks", u.verify.Name, j.Name, f.Path, u.unit, j.minBS())
				}
				u.unit = j.minBS()
			}
		}
	}
	return order, us, nil
}

// layout makes every file of the jobs ready for a pass and returns the
// pass's state of each.
//
// For the fio engine, a file iobench made that a verifying job uses is
// removed instead: fio lays it out itself, as its verify expects (it
// refuses iobench's verify headers as foreign data).
func (r *Runner) layout(jobs []Job, forFio bool) (map[string]*fileRun, error) {
	order, us, err := usages(jobs)
	if err != nil {
		return nil, err
	}
	pass := map[string]*fileRun{}
	for _, path := range order {
		u := us[path]
		st := r.files[path]
		if st == nil {
			st = &fileState{}
			r.files[path] = st
		}
		fr := &fileRun{path: path, writes: u.writes}
		pass[path] = fr
		if _, exists := existingSize(path); forFio && u.verify != nil && (st.created || !exists) && !isDevice(path) {
			os.Remove(path)
			st.created, st.pristine = true, false
			continue
		}
		if u.appends { // made anew at each job's start (prepareJob)
			if u.verify != nil {
				fr.verify = newUnitTable(u.spec.End(), u.unit, genUnwritten)
			}
			continue
		}
		if err := r.layoutFile(path, u, st); err != nil {
			return nil, err
		}
		if u.verify != nil {
			state := genUnknown
			switch {
			case st.pristine && st.stamped:
				state = 0
			case st.pristine && st.unwritten:
				state = genUnwritten
			}
			fr.verify = newUnitTable(u.spec.End(), u.unit, state)
		}
	}
	return pass, nil
}

// layoutFile lays out one file if the pass needs it: it is missing, too
// small or sparse; a verifying job needs its headers; or iobench made it
// and a pass wrote it since.
func (r *Runner) layoutFile(path string, u *usage, st *fileState) error {
	end := u.spec.End()
	if isDevice(path) {
		if n, _ := existingSize(path); n < end {
			return fmt.Errorf("%s: the device has %d bytes, the job needs %d", path, n, end)
		}
		if u.writes && !st.noticed {
			r.notice(fmt.Sprintf("the jobs write to the device %s: its data is overwritten", path))
			st.noticed = true
		}
		return nil
	}
	size, exists := existingSize(path)
	if !u.reads && (!exists || st.created) {
		// A file only written, that iobench makes: fallocate'd and never
		// written, as fio makes it without overwrite=1.
		if st.pristine && st.unwritten && size == end {
			return nil
		}
		st.created = true
		if err := newWriteFile(path, end, u.sparse); err != nil {
			return err
		}
		st.pristine, st.stamped, st.unwritten = true, false, true
		return nil
	}
	full := exists && size >= end && allocated(path, end)
	switch {
	case full && u.verify == nil && (st.pristine || !st.created || !u.writes):
		if exists && !st.created && u.writes && !st.noticed {
			r.notice(fmt.Sprintf("%s exists: the jobs overwrite it", path))
			st.noticed = true
		}
		return nil
	case full && u.verify != nil && st.pristine && st.stamped:
		return nil
	case full && u.verify != nil && !st.created && (!u.writes || hasHeaders(path, u)):
		return nil // a file of the user's: checked as it is, not rewritten
	}
	if exists && !st.created && !st.noticed {
		what := fmt.Sprintf("%s exists: iobench lays it out anew", path)
		switch {
		case size < end:
			what = fmt.Sprintf("%s exists with %d bytes: iobench extends it to %d and lays it out", path, size, end)
		case u.verify != nil:
			what = fmt.Sprintf("%s exists: iobench rewrites it with verify headers", path)
		}
		r.notice(what)
		st.noticed = true
	}
	if !exists {
		st.created = true
	}
	if err := layOut(path, end, u); err != nil {
		return err
	}
	st.pristine, st.stamped, st.unwritten = true, u.verify != nil, false
	return nil
}

func (r *Runner) notice(msg string) {
	if r.Notice != nil {
		r.Notice(msg)
	}
}

// Created lists the files the runner made. It leaves them, as fio does
// (unlink=1 removes a job's); iobench's default files live in a temporary
// directory the command removes.
func (r *Runner) Created() []string {
	var out []string
	for p, st := range r.files {
		if st.created {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// Summary is one line describing a job, as --parse-only and the table
// header print it.
func (j *Job) Summary() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "rw=%s bs=%d iodepth=%d numjobs=%d size=%d", j.RW, j.BS, j.IODepth, j.NumJobs, j.Size)
	if j.TimeBased {
		fmt.Fprintf(&sb, " runtime=%v (time-based)", j.Runtime)
	} else {
		fmt.Fprintf(&sb, " io_size=%d per clone", j.CloneBytes())
		if j.Runtime > 0 {
			fmt.Fprintf(&sb, " runtime<=%v", j.Runtime)
		}
	}
	fmt.Fprintf(&sb, " direct=%v", j.Direct)
	if j.Verify != "" {
		fmt.Fprintf(&sb, " verify=%s", j.Verify)
	}
	if j.Stonewall {
		sb.WriteString(" stonewall")
	}
	files := j.Files(0)
	fmt.Fprintf(&sb, " files=%s", files[0].Path)
	if n := len(files); n > 1 {
		fmt.Fprintf(&sb, " (+%d)", n-1)
	}
	if j.NumJobs > 1 && !j.SharedFiles() {
		sb.WriteString(" per clone")
	}
	return sb.String()
}
