package bench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nowaitio/nowait/ring"
)

// goEngines are the engines in Go: aio, psync and, where io_uring works,
// ring (where it is refused, aio runs on its syscall backend by itself).
func goEngines(t *testing.T) []Engine {
	t.Helper()
	engines := []Engine{AIOEngine{}, PsyncEngine{}}
	if err := ring.Available(); err != nil {
		t.Logf("the ring engine is left out: %v", err)
		return engines
	}
	return append(engines, RingEngine{})
}

// fioUsable skips a test of fio's io_uring engine where fio is missing
// or io_uring is refused.
func fioUsable(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("fio"); err != nil {
		t.Skip("fio is not installed (apt-get install -y fio); .ci/run installs it")
	}
	if err := ring.Available(); err != nil {
		t.Skipf("fio's io_uring engine needs io_uring: %v", err)
	}
}

// runOn runs one job on the engines, as iobench does.
func runOn(job Job, engines ...Engine) ([]Result, error) {
	rs, err := (&Runner{Engines: engines}).Run([]Job{job})
	if err != nil {
		return nil, err
	}
	return rs[0], nil
}

func smallJob(t *testing.T, rw RW) Job {
	j := DefaultJob()
	j.Name, j.RW, j.Size, j.Runtime, j.IODepth = "test-"+string(rw), rw, 8<<20, 300*time.Millisecond, 8
	j.Filename = filepath.Join(t.TempDir(), "f")
	return j
}

// TestEnginesRun runs every engine shortly on a small file with each
// pattern, and checks that I/O happened and was measured.
func TestEnginesRun(t *testing.T) {
	engines := goEngines(t)
	for _, rw := range []RW{RandRead, Read, Write, RandWrite, RandRW, Append} {
		job := smallJob(t, rw)
		job.Verify = "xxhash"
		job.FsyncN = 50
		results, err := runOn(job, engines...)
		if err != nil {
			t.Fatalf("%s: %v", rw, err)
		}
		for _, r := range results {
			if r.Ops == 0 || r.IOPS <= 0 || r.Lat.Count != r.Ops || r.Lat.P50 <= 0 || r.Errors != 0 || r.VerifyErrs != 0 {
				t.Errorf("%s on %s: %+v", r.Engine, rw, r)
			}
			if r.Engine != "psync" && r.Slat.Count == 0 {
				t.Errorf("%s on %s: no submission latency measured", r.Engine, rw)
			}
		}
	}
}

// TestVerifyRunFailsOnCorruptBlock corrupts one block of a prepared file
// on purpose: a verifying read job must report it, naming the offset.
func TestVerifyRunFailsOnCorruptBlock(t *testing.T) {
	job := smallJob(t, RandRead)
	job.Size, job.Verify = 64*4096, "xxhash" // few blocks: every one gets read
	if err := layOut(job.Filename, job.Size, &usage{verify: &job, unit: job.BS}); err != nil {
		t.Fatal(err)
	}
	const bad = 37 * 4096
	f, err := os.OpenFile(job.Filename, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("corrupted on purpose"), bad+100); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, e := range goEngines(t) {
		rs, err := runOn(job, e)
		if err != nil {
			t.Fatal(err)
		}
		r := rs[0]
		if r.VerifyErrs == 0 || !strings.Contains(r.VerifyFirst, fmt.Sprintf("offset %d", bad)) {
			t.Errorf("%s: %d verify errors, first %q; want the block at %d named", e.Name(), r.VerifyErrs, r.VerifyFirst, bad)
		}
	}
}

// TestFioEngine runs fio itself when it is installed (.ci/run installs it).
func TestFioEngine(t *testing.T) {
	fioUsable(t)
	for _, rw := range []RW{RandRead, Append} {
		job := smallJob(t, rw)
		job.Runtime = time.Second
		results, err := runOn(job, FioEngine{})
		if err != nil {
			t.Fatal(err)
		}
		r := results[0]
		if r.Ops == 0 || r.IOPS <= 0 || r.Lat.P50 <= 0 || r.CPUPerIONs <= 0 {
			t.Errorf("fio %s: %+v", rw, r)
		}
	}
}

// TestFioCPUIsItsProcesses: fio's CPU per I/O is its processes' (fio and
// its job processes, from start to exit, as the Go engines' is their
// whole process's), fio's own figure kept beside it. On a WAL pattern (a
// write and an fdatasync, one at a time) fio's own figure left out most
// of the work here: 16.5 µs per write against 148 by time(1).
func TestFioCPUIsItsProcesses(t *testing.T) {
	fioUsable(t)
	job := smallJob(t, Append)
	job.Runtime, job.IODepth, job.FsyncN = time.Second, 1, 1
	results, err := runOn(job, FioEngine{})
	if err != nil {
		t.Fatal(err)
	}
	r := results[0]
	t.Logf("fio, %d writes each with an fdatasync: %.1f µs of CPU per write counted by its processes, %.1f by fio", r.Ops, r.CPUPerIONs/1000, r.FioJobCPUPerIONs/1000)
	if r.Ops == 0 || r.FioJobCPUPerIONs <= 0 || r.CPUPerIONs < r.FioJobCPUPerIONs {
		t.Errorf("fio's CPU per I/O %.0f ns, its own figure %.0f ns: %+v", r.CPUPerIONs, r.FioJobCPUPerIONs, r)
	}
}

// TestCountFioProcessesShares: a group's process CPU is shared among its
// jobs by fio's own figures.
func TestCountFioProcessesShares(t *testing.T) {
	res := []Result{{Ops: 1000, CPUUser: 0.5, CPUSys: 0.5, CPUPerIONs: 1e6}, {Ops: 3000, CPUUser: 1, CPUSys: 2, CPUPerIONs: 1e6}}
	countFioProcesses(res, 2, 6)
	for i, want := range []struct{ user, sys, perIO, own float64 }{{0.5, 1.5, 2e6, 1e6}, {1.5, 4.5, 2e6, 1e6}} {
		if r := res[i]; r.CPUUser != want.user || r.CPUSys != want.sys || r.CPUPerIONs != want.perIO || r.FioJobCPUPerIONs != want.own {
			t.Errorf("job %d: user %v sys %v per I/O %v own %v; want %+v", i, r.CPUUser, r.CPUSys, r.CPUPerIONs, r.FioJobCPUPerIONs, want)
		}
	}
}

func TestUnknownEngine(t *testing.T) {
	if _, err := EngineByName("spdk"); err == nil || !strings.Contains(err.Error(), "aio, psync, ring, fio") {
		t.Fatalf("EngineByName(spdk): %v", err)
	}
}

// TestBSSplitAndIOSize: mixed block sizes reach the engines, and io_size
// ends the run early.
func TestBSSplitAndIOSize(t *testing.T) {
	job := smallJob(t, RandRead)
	job.BSSplit = []BSPart{{4096, 50}, {65536, 50}}
	job.BS, job.Runtime, job.TotalBytes, job.TimeBased = 65536, 5*time.Second, 16<<20, false
	job.Verify = "xxhash"
	for _, e := range goEngines(t) {
		rs, err := runOn(job, e)
		if err != nil {
			t.Fatal(err)
		}
		r := rs[0]
		avg := float64(r.Bytes) / float64(r.Ops)
		if r.Bytes > job.TotalBytes || r.Bytes < job.TotalBytes/2 || avg <= 4096 || avg >= 65536 || r.VerifyErrs != 0 {
			t.Errorf("%s: %d bytes in %d I/Os (average %.0f), %d verify errors", e.Name(), r.Bytes, r.Ops, avg, r.VerifyErrs)
		}
		if r.Elapsed >= job.Runtime {
			t.Errorf("%s: io_size did not end the run early (%v)", e.Name(), r.Elapsed)
		}
	}
}

// TestAppendWrapsAtSize: an append job writes from the start of an empty
// file and, past its size, wraps to the start as fio does: the file never
// grows past the size (the Go engines grew a 16 MiB job's file to 341 MB).
func TestAppendWrapsAtSize(t *testing.T) {
	for _, e := range goEngines(t) {
		job := smallJob(t, Append)
		job.Size, job.Runtime = 1<<20, 400*time.Millisecond
		r, err := runOn(job, e)
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		st, err := os.Stat(job.Filename)
		if err != nil {
			t.Fatal(err)
		}
		if r[0].Bytes <= job.Size {
			t.Logf("%s wrote %d bytes, no more than the size: the wrap was not reached", e.Name(), r[0].Bytes)
		}
		if st.Size() > job.Size {
			t.Errorf("%s: %d bytes written, the file grew to %d, past the job's size %d", e.Name(), r[0].Bytes, st.Size(), job.Size)
		}
	}
}

// TestReadsAndWritesApart: a randrw run counts each direction apart on
// every engine (the fio row showed one direction's latency and the Go
// rows both combined), and the table prints them.
func TestReadsAndWritesApart(t *testing.T) {
	engines := goEngines(t)
	if _, err := exec.LookPath("fio"); err == nil && ring.Available() == nil { // fio's engine is io_uring
		engines = append(engines, FioEngine{})
	}
	job := smallJob(t, RandRW)
	results, err := runOn(job, engines...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		rd, wr := r.Read, r.Write
		if rd.Ops == 0 || wr.Ops == 0 || rd.Ops+wr.Ops != r.Ops || rd.Bytes+wr.Bytes != r.Bytes {
			t.Errorf("%s: %d ops = %d reads + %d writes? bytes %d = %d + %d?", r.Engine, r.Ops, rd.Ops, wr.Ops, r.Bytes, rd.Bytes, wr.Bytes)
		}
		if rd.Lat.P50 <= 0 || wr.Lat.P50 <= 0 || (r.Engine != "fio" && (rd.Lat.Count != rd.Ops || wr.Lat.Count != wr.Ops)) {
			t.Errorf("%s: latency by direction %+v / %+v", r.Engine, rd.Lat, wr.Lat)
		}
	}
	var out bytes.Buffer
	if err := WriteTable(&out, results); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "by direction") || strings.Count(out.String(), " write ") < len(results) {
		t.Errorf("the table has no row per direction:\n%s", out.String())
	}
}

// TestAIOEngineOnItsRing: the aio engine verifies what it wrote, its
// runtime's counters say the fast I/Os were placed on a ring, and the
// mixed job runs on it with every Submit timed.
func TestAIOEngineOnItsRing(t *testing.T) {
	if err := ring.Available(); err != nil {
		t.Skipf("the counters of the ring path need io_uring: %v", err)
	}
	job := smallJob(t, RandRW)
	job.Verify = "xxhash"
	results, err := runOn(job, AIOEngine{})
	if err != nil {
		t.Fatal(err)
	}
	r := results[0]
	if r.Engine != "aio" || r.Ops == 0 || r.Errors != 0 || r.VerifyErrs != 0 || r.Stats == nil {
		t.Fatalf("aio: %+v", r)
	}
	fast, placed := r.Stats.FastReads+r.Stats.FastWrites, r.Stats.CallerDriven
	t.Logf("%d fast I/Os, %d placed on a ring", fast, placed)
	if fast == 0 || placed < fast {
		t.Errorf("%d fast I/Os, %d placed on a ring", fast, placed)
	}
	m := DefaultMixedJob(t.TempDir())
	m.Submissions, m.ReadSize, m.PreallocSz = 2000, 16<<20, 16<<20
	mr, err := RunMixed(m, "aio")
	if err != nil {
		t.Fatal(err)
	}
	if mr.Engine != "aio" || mr.Slat.Count < int64(m.Submissions) || mr.Stats == nil || mr.Stats.CallerDriven == 0 {
		t.Errorf("mixed job on aio: engine %q, %d Submits timed, stats %+v", mr.Engine, mr.Slat.Count, mr.Stats)
	}
}
