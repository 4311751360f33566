package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// lossyDriver drops every nth write: it sends a read of the block in its
// place and reports the write done. Fault injection on the real engines.
type lossyDriver struct {
	driver
	n, writes int
	shadow    []slot
	scratch   [][]byte
	dropped   *atomic.Int64
}

func (d *lossyDriver) queue(idx int, s *slot) {
	if s.kind == opWrite {
		if d.writes++; d.writes%d.n == 0 {
			sh := &d.shadow[idx]
			*sh = *s
			sh.kind, sh.buf = opRead, d.scratch[idx][:len(s.buf)]
			d.dropped.Add(1)
			d.driver.queue(idx, sh)
			return
		}
	}
	d.driver.queue(idx, s)
}

func withLossyWrites(t *testing.T, every int) *atomic.Int64 {
	dropped := new(atomic.Int64)
	faultDriver = func(d driver, depth int) driver {
		l := &lossyDriver{driver: d, n: every, shadow: make([]slot, depth), dropped: dropped}
		for range depth {
			l.scratch = append(l.scratch, make([]byte, 1<<20))
		}
		return l
	}
	t.Cleanup(func() { faultDriver = nil })
	return dropped
}

// TestVerifyCatchesLostWrites: a random-write job with verify reads back
// what it wrote, and a write the device never did (dropped by the fault
// driver, reported done) fails by name. iobench's verify used to check
// only the blocks a job read: a randwrite job verified nothing.
func TestVerifyCatchesLostWrites(t *testing.T) {
	for _, e := range []Engine{PsyncEngine{}, AIOEngine{}} {
		job := smallJob(t, RandWrite)
		job.Size, job.TimeBased, job.Runtime, job.Verify = 2<<20, false, 0, "crc32c"
		r, err := runOn(job, e)
		if err != nil {
			t.Fatal(err)
		}
		if r[0].VerifyErrs != 0 || r[0].VerifiedReads == 0 {
			t.Fatalf("%s: a clean run: %d verify errors (%s), %d reads checked", e.Name(), r[0].VerifyErrs, r[0].VerifyFirst, r[0].VerifiedReads)
		}
		dropped := withLossyWrites(t, 50)
		job.Filename = filepath.Join(t.TempDir(), "lossy")
		r, err = runOn(job, e)
		faultDriver = nil
		if err != nil {
			t.Fatal(err)
		}
		// A dropped write that a later write of the block covers is no
		// loss: at most one error per dropped write.
		if n := dropped.Load(); n == 0 || r[0].VerifyErrs == 0 || r[0].VerifyErrs > n || !strings.Contains(r[0].VerifyFirst, "a write was lost") {
			t.Errorf("%s: %d writes dropped, %d verify errors, first %q; want up to one each, the loss named", e.Name(), n, r[0].VerifyErrs, r[0].VerifyFirst)
		}
	}
}

// TestVerifyWithFioBeforeAndAfter: with verify, each engine starts from a
// file laid out for it. fio's writes left in the file made aio report
// 12,849 corrupt blocks that were not corrupt, and in the other order fio
// ran without verify.
func TestVerifyWithFioBeforeAndAfter(t *testing.T) {
	fioUsable(t)
	job := smallJob(t, RandRW)
	job.Verify, job.Runtime = "xxhash", 500*time.Millisecond
	for _, order := range [][]Engine{{FioEngine{}, AIOEngine{}}, {AIOEngine{}, FioEngine{}}} {
		rs, err := runOn(job, order...)
		if err != nil {
			t.Fatalf("%s then %s: %v", order[0].Name(), order[1].Name(), err)
		}
		for _, r := range rs {
			if r.VerifyErrs != 0 || r.Ops == 0 {
				t.Errorf("%s (of %s, %s): %d ops, %d verify errors, first %s", r.Engine, order[0].Name(), order[1].Name(), r.Ops, r.VerifyErrs, r.VerifyFirst)
			}
		}
	}
	args := strings.Join(FioEngine{}.FioArgs(job), " ")
	if !strings.Contains(args, "--verify=xxhash") {
		t.Errorf("fio runs without verify: %s", args)
	}
}

// TestGroupsRunAtOnce: jobs between stonewalls run at the same time, as
// fio runs them; a stonewall waits for the jobs before it. iobench ran
// every job after the one before, with or without stonewall.
func TestGroupsRunAtOnce(t *testing.T) {
	jobs, err := ParseJobFile(strings.NewReader("[global]\nsize=4m\nruntime=400ms\ntime_based\n[a]\nrw=randread\n[b]\nrw=randread\n[c]\nstonewall\nrw=randread\n"), ".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i := range jobs {
		jobs[i].Directory = dir
	}
	if g := Groups(jobs); len(g) != 2 || len(g[0]) != 2 || len(g[1]) != 1 {
		t.Fatalf("groups %v, want [[0 1] [2]]", g)
	}
	rs, err := (&Runner{Engines: []Engine{PsyncEngine{}}}).Run(jobs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		if len(r) != 1 || r[0].Ops == 0 {
			t.Fatalf("job %d: %+v", i, r)
		}
	}
	a, b, c := rs[0][0], rs[1][0], rs[2][0]
	if !a.began.Before(b.ended) || !b.began.Before(a.ended) {
		t.Errorf("a ran %v..%v and b %v..%v: not at once", a.began, a.ended, b.began, b.ended)
	}
	if c.began.Before(a.ended) || c.began.Before(b.ended) {
		t.Errorf("c began at %v, before a or b ended (%v, %v): the stonewall did not hold", c.began, a.ended, b.ended)
	}
}

// TestFilesAsFio: without a filename each clone has nrfiles files of its
// own, named as fio names them; a ':' list is shared; offset keeps the
// I/O out of the bytes before it.
func TestFilesAsFio(t *testing.T) {
	dir := t.TempDir()
	j := DefaultJob()
	j.Name, j.Directory, j.NumJobs, j.NrFiles, j.Size = "w", dir, 2, 3, 3<<20
	files := j.Files(1)
	if len(files) != 3 || files[2].Path != filepath.Join(dir, "w.1.2") || files[0].Size != 1<<20 {
		t.Fatalf("clone 1's files: %+v", files)
	}
	j.Filename, j.FileSize = `a:b\:c`, 4096
	if f := j.Files(0); len(f) != 2 || f[1].Path != filepath.Join(dir, "b:c") || f[1].Size != 4096 {
		t.Fatalf("a filename list: %+v", f)
	}

	// offset: a write job leaves the first MiB alone.
	job := smallJob(t, Write)
	job.Offset, job.Size, job.TimeBased, job.Runtime = 1<<20, 1<<20, false, 0
	job.Overwrite = true
	if err := layOut(job.Filename, 2<<20, &usage{}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(job.Filename)
	r, err := runOn(job, goEngines(t)...)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(job.Filename)
	if string(before[:1<<20]) != string(after[:1<<20]) || string(before[1<<20:]) == string(after[1<<20:]) {
		t.Errorf("offset=1m: the first MiB changed, or the second did not")
	}
	for _, x := range r {
		if x.Bytes != 1<<20 {
			t.Errorf("%s: one pass over a 1 MiB region wrote %d bytes", x.Engine, x.Bytes)
		}
	}
}

// TestPacing: rate_iops caps a clone's IOPS, thinktime stalls it, loops
// repeat the pass.
func TestPacing(t *testing.T) {
	job := smallJob(t, RandRead)
	job.RateIOPS = [2]int64{400, 400}
	job.Runtime = time.Second
	r, err := runOn(job, PsyncEngine{}, AIOEngine{})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range r {
		if x.IOPS > 440 || x.IOPS < 200 { // below: the machine's stalls, not the cap
			t.Errorf("%s: rate_iops=400 ran at %.0f IOPS", x.Engine, x.IOPS)
		}
	}
	job = smallJob(t, RandRead)
	job.Think, job.ThinkBlocks, job.IODepth = 2*time.Millisecond, 1, 1
	job.Runtime = 500 * time.Millisecond
	r, err = runOn(job, PsyncEngine{})
	if err != nil {
		t.Fatal(err)
	}
	if r[0].IOPS > 500 { // at most one I/O per 2 ms
		t.Errorf("thinktime=2ms: %.0f IOPS", r[0].IOPS)
	}
	job = smallJob(t, Read)
	job.Size, job.Loops, job.TimeBased, job.Runtime = 1<<20, 3, false, 0
	r, err = runOn(job, PsyncEngine{}, AIOEngine{})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range r {
		if x.Bytes != 3<<20 {
			t.Errorf("%s: loops=3 over 1 MiB read %d bytes", x.Engine, x.Bytes)
		}
	}
}

// TestReadJobsOpenReadOnly: a job that only reads opens its file
// read-only, so an immutable file (or one the user may only read) can be
// benchmarked; every engine opened it O_RDWR.
func TestReadJobsOpenReadOnly(t *testing.T) {
	job := smallJob(t, RandRead)
	job.Size = 1 << 20
	if err := layOut(job.Filename, job.Size, &usage{}); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("chattr", "+i", job.Filename).CombinedOutput(); err != nil {
		t.Skipf("chattr +i refused (%v: %s): the filesystem has no immutable files", err, out)
	}
	defer exec.Command("chattr", "-i", job.Filename).Run()
	rs, err := runOn(job, goEngines(t)...)
	if err != nil {
		t.Fatalf("a read job on an immutable file: %v", err)
	}
	for _, r := range rs {
		if r.Ops == 0 || r.Errors != 0 {
			t.Errorf("%s: %d ops, %d errors", r.Engine, r.Ops, r.Errors)
		}
	}
}

// TestExistingFileNotice: a job that writes a file it did not make says
// so before it overwrites it; a file it extends, likewise.
func TestExistingFileNotice(t *testing.T) {
	job := smallJob(t, RandWrite)
	job.Size, job.Runtime = 1<<20, 100*time.Millisecond
	if err := os.WriteFile(job.Filename, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	var notes []string
	r := &Runner{Engines: []Engine{PsyncEngine{}}, Notice: func(m string) { notes = append(notes, m) }}
	if _, err := r.Run([]Job{job}); err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], job.Filename) || !strings.Contains(notes[0], "extends it") {
		t.Errorf("notices %q, want one saying %s is extended", notes, job.Filename)
	}
}

// TestZonedDistribution: zoned:60/10:40/ sends about 60% of the random
// I/Os to the first 10% of the region; blockalign aligns every offset.
func TestZonedDistribution(t *testing.T) {
	job := DefaultJob()
	job.Size, job.BS, job.BlockAlign = 100<<20, 4096, 16384
	job.Zones = []Zone{{60, 10}, {40, 90}}
	job.Filename = "x"
	cr := &cloneRun{files: []cloneFile{{f: &fileRun{}, size: job.Size}}}
	s := newJobSource(&jobRun{job: &job}, cr, 0, newQueueStats(), false)
	hot := 0
	const n = 20000
	for range n {
		op := s.draw()
		if op.off%16384 != 0 {
			t.Fatalf("offset %d is not aligned to blockalign 16k", op.off)
		}
		if op.off < job.Size/10 {
			hot++
		}
	}
	if share := float64(hot) / n; share < 0.57 || share > 0.63 {
		t.Errorf("%.3f of the I/Os in the first 10%%, want 0.60", share)
	}
}

// TestLogsAsFio: write_lat_log and write_iops_log write fio's log files,
// one per clone, in fio's line format: an entry per I/O in the latency
// log, one per period in the IOPS log. They were refused.
func TestLogsAsFio(t *testing.T) {
	dir := t.TempDir()
	jobs, err := ParseJobFile(strings.NewReader("[lg]\nrw=randread\nsize=4m\nnumjobs=2\niodepth=4\nio_size=1m\n"+
		"write_lat_log="+dir+"/lg\nwrite_iops_log="+dir+"/lg\nlog_avg_msec=100\n[all]\nstonewall\nrw=read\nsize=1m\nwrite_lat_log="+dir+"/all\n"), ".")
	if err != nil {
		t.Fatal(err)
	}
	for i := range jobs {
		jobs[i].Directory = dir
	}
	rs, err := (&Runner{Engines: []Engine{PsyncEngine{}}}).Run(jobs)
	if err != nil {
		t.Fatal(err)
	}
	lines := func(name string) [][]string {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var out [][]string
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			f := strings.Split(l, ", ")
			if len(f) != 5 {
				t.Fatalf("%s: line %q is not fio's msec, value, dir, bs, offset", name, l)
			}
			out = append(out, f)
		}
		return out
	}
	if n := len(lines("all_lat.1.log")); int64(n) != rs[1][0].Ops {
		t.Errorf("the latency log without log_avg_msec has %d lines for %d I/Os", n, rs[1][0].Ops)
	}
	for _, c := range []string{"1", "2"} {
		lat, iops := lines("lg_lat."+c+".log"), lines("lg_iops."+c+".log")
		if len(lat) == 0 || len(iops) == 0 || int64(len(lat)) >= rs[0][0].Ops/2 {
			t.Errorf("clone %s: %d averaged latency lines, %d IOPS lines, for %d I/Os", c, len(lat), len(iops), rs[0][0].Ops)
		}
	}
}

// TestExitAllAndWaitFor: exitall ends the group when its job ends (the
// short job is paced, a quarter second, so that the long one is running);
// wait_for the job before is a stonewall, wait_for another is refused.
func TestExitAllAndWaitFor(t *testing.T) {
	dir := t.TempDir()
	jobs, err := ParseJobFile(strings.NewReader("[global]\nsize=4m\ndirectory="+dir+"\n[short]\nrw=read\nexitall\nrate_iops=4000\n[long]\nrw=randread\ntime_based\nruntime=20s\n"), ".")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := (&Runner{Engines: []Engine{PsyncEngine{}}}).Run(jobs)
	if err != nil {
		t.Fatal(err)
	}
	if long := rs[1][0]; long.Elapsed > 10*time.Second || long.Ops == 0 {
		t.Errorf("the 20 s job beside an exitall job ran %v (%d I/Os)", long.Elapsed, long.Ops)
	}
	jobs, err = ParseJobFile(strings.NewReader("[a]\nsize=1m\n[b]\nsize=1m\nwait_for=a\n"), ".")
	if err != nil || !jobs[1].Stonewall {
		t.Errorf("wait_for the job before: %v, stonewall %v", err, err == nil && jobs[1].Stonewall)
	}
	if _, err := ParseJobFile(strings.NewReader("[a]\nsize=1m\n[b]\nsize=1m\n[c]\nwait_for=a\n"), "."); err == nil {
		t.Error("wait_for a job two before accepted")
	}
}

// failingDriver fails every nth completion with EIO: fault injection on
// the real engines.
type failingDriver struct {
	driver
	n, seen int
}

func (d *failingDriver) wait(out []completion, min int) (int, error) {
	k, err := d.driver.wait(out, min)
	for i := range out[:k] {
		if d.seen++; d.seen%d.n == 0 {
			out[i].err = unix.EIO
		}
	}
	return k, err
}

// TestFirstErrorEndsTheJob: an I/O error ends the job, as fio's default
// continue_on_error=none; continue_on_error=read goes on past read
// errors. iobench went on past every error, up to 100 per queue.
func TestFirstErrorEndsTheJob(t *testing.T) {
	faultDriver = func(d driver, depth int) driver { return &failingDriver{driver: d, n: 20} }
	defer func() { faultDriver = nil }()
	job := smallJob(t, RandRead)
	job.Size, job.TimeBased, job.Runtime, job.IODepth = 1<<20, false, 0, 4
	r, err := runOn(job, AIOEngine{})
	if err != nil {
		t.Fatal(err)
	}
	if !r[0].Failed || r[0].Errors == 0 || r[0].Ops >= 256 {
		t.Errorf("continue_on_error=none: failed %v, %d errors, %d I/Os of 256", r[0].Failed, r[0].Errors, r[0].Ops)
	}
	job.ContinueOn = map[string]bool{"read": true}
	r, err = runOn(job, AIOEngine{})
	if err != nil {
		t.Fatal(err)
	}
	if r[0].Failed || r[0].Errors < 10 || r[0].Ops+r[0].Errors != 256 {
		t.Errorf("continue_on_error=read: failed %v, %d errors, %d I/Os; want 256 in all", r[0].Failed, r[0].Errors, r[0].Ops)
	}
}

// TestBackwardsAsFio: rw=read:-8k with 4 KiB blocks over 64 KiB reads
// backwards in the order fio 3.33 does (its latency log with log_offset:
// 0, 57344, 53248, ... 4096, 0); it was refused.
func TestBackwardsAsFio(t *testing.T) {
	jobs, err := ParseJobFile(strings.NewReader("[b]\nbs=4k\nrw=read:-8k\nsize=64k\nfilename=x\n"), ".")
	if err != nil {
		t.Fatal(err)
	}
	job := jobs[0]
	if job.SeqMod != -8192 {
		t.Fatalf("rw=read:-8k: modifier %d", job.SeqMod)
	}
	g := newGroupRun("t", []Job{job}, map[string]*fileRun{"x": {}}, time.Now())
	s := newJobSource(g.jobs[0], g.jobs[0].clones[0], 0, newQueueStats(), false)
	want := []int64{0, 57344, 53248, 49152, 45056, 40960, 36864, 32768, 28672, 24576, 20480, 16384, 12288, 8192, 4096, 0, 57344}
	for i, w := range want {
		if off := s.draw().off; off != w {
			t.Fatalf("I/O %d at %d, fio's at %d", i, off, w)
		}
	}
}

// TestLayoutStatus: while a file is laid out, the status line has its
// progress (there was none: a 1 GiB layout said nothing).
func TestLayoutStatus(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	done := make(chan error, 1)
	go func() { done <- layOut(path, 256<<20, &usage{}) }()
	seen := 0.0
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			if seen <= 0 || seen > 1 {
				t.Errorf("the layout's progress was never seen between 0 and 1 (last %v)", seen)
			}
			if _, ok := LayoutStatus(); ok {
				t.Error("a layout status after the layout ended")
			}
			return
		default:
			if f, ok := LayoutStatus(); ok && f > 0 {
				seen = f
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// TestVerifyBlocksMustAgree: two jobs verifying one file in different
// block sizes are refused by name (their headers would lie at different
// places, and each would fail the other's blocks).
func TestVerifyBlocksMustAgree(t *testing.T) {
	dir := t.TempDir()
	jobs, err := ParseJobFile(strings.NewReader("[global]\nsize=1m\nverify=crc32c\nfilename="+dir+"/v\n[a]\nrw=write\nbs=16k\n[b]\nstonewall\nrw=read\nbs=4k\n"), ".")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&Runner{Engines: []Engine{PsyncEngine{}}}).Run(jobs); err == nil || !strings.Contains(err.Error(), "16384 and 4096") {
		t.Errorf("verify in 16k and 4k blocks of one file: %v, want refused naming both", err)
	}
}
