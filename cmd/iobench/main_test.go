package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nowaitio/nowait/bench"
	"github.com/nowaitio/nowait/ring"
)

// iobench builds the command once for the end-to-end tests.
func iobench(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "iobench")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func runCLI(t *testing.T, bin string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s: %v", bin, err)
	}
	return o.String(), e.String(), 0
}

// TestEndToEnd runs the binary for 1 second per engine on a small file and
// checks the table and the JSON.
func TestEndToEnd(t *testing.T) {
	bin := iobench(t)
	engines := "aio,psync"
	rows := []string{aioRow(), "psync"}
	if err := ring.Available(); err != nil {
		t.Logf("io_uring is refused here: the ring and fio engines are left out, aio runs on its syscall backend (%v)", err)
	} else {
		engines += ",ring"
		rows = append(rows, "ring")
		if _, err := exec.LookPath("fio"); err == nil {
			engines += ",fio"
			rows = append(rows, "fio")
		} else {
			t.Log("fio is not installed: the fio engine is left out of this run (.ci/run installs it)")
		}
	}
	file := filepath.Join(t.TempDir(), "data")
	common := []string{"--runtime=1s", "--size=16m", "--filename=" + file, "--compare=" + engines}
	out, errOut, code := runCLI(t, bin, nil, common...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, e := range rows {
		if !regexpLine(out, e) {
			t.Errorf("the table has no row for %s:\n%s", e, out)
		}
	}
	if aioRow() != "aio" {
		// The fallback is said before the table, with the runtime's reason.
		notice := strings.Index(out, "aio(syscall): the runtime ran on its syscall backend")
		if notice < 0 || notice > strings.Index(out, "IOPS") || !strings.Contains(out, "io_uring unavailable") {
			t.Errorf("no notice of the syscall backend and its reason before the table:\n%s", out)
		}
	}
	if !strings.Contains(out, "IOPS") || !strings.Contains(out, "1.00x") {
		t.Errorf("table:\n%s", out)
	}

	out, errOut, code = runCLI(t, bin, nil, append(common, "--output-format=json", "--rw=randrw", "--verify=xxhash")...)
	if code != 0 {
		t.Fatalf("json run: exit %d\n%s", code, errOut)
	}
	// fio's schema: what reads fio's JSON reads this (d["jobs"][0]["read"]["iops"]).
	var doc struct {
		Version string `json:"fio version"`
		Jobs    []struct {
			JobName string            `json:"jobname"`
			Options map[string]string `json:"job options"`
			Read    struct {
				IOPS float64 `json:"iops"`
				Lat  struct {
					Percentile map[string]int64 `json:"percentile"`
				} `json:"lat_ns"`
			} `json:"read"`
			Write struct {
				IOPS float64 `json:"iops"`
			} `json:"write"`
			Nowait bench.Result `json:"nowait"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("JSON output does not decode: %v\n%s", err, out)
	}
	if doc.Version == "" || len(doc.Jobs) != len(strings.Split(engines, ",")) {
		t.Fatalf("fio version %q, %d jobs for %s", doc.Version, len(doc.Jobs), engines)
	}
	for _, j := range doc.Jobs {
		r := j.Nowait
		if j.JobName != "randrw-4k-qd32" || j.Options["ioengine"] != r.Engine || j.Read.IOPS <= 0 || j.Write.IOPS <= 0 ||
			j.Read.Lat.Percentile["99.000000"] <= 0 || r.Ops == 0 || r.VerifyErrs != 0 {
			t.Errorf("job %+v", j)
		}
	}
	if doc.Jobs[0].Nowait.Stats == nil || doc.Jobs[0].Nowait.Stats.Backend == "" {
		t.Errorf("the aio result carries no runtime stats: %+v", doc.Jobs[0].Nowait)
	}
}

// aioRow is the aio engine's name in the table: "aio", or
// "aio(syscall)" where io_uring is refused and the runtime falls back.
func aioRow() string {
	if ring.Available() != nil {
		return "aio(syscall)"
	}
	return "aio"
}

func regexpLine(out, engine string) bool {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] == engine {
			return true
		}
	}
	return false
}

// TestVerifyFailureExitsNonZero corrupts a block of a verified file: the
// run fails with exit status 1 and names the offset.
func TestVerifyFailureExitsNonZero(t *testing.T) {
	bin := iobench(t)
	file := filepath.Join(t.TempDir(), "data")
	args := []string{"--runtime=500ms", "--size=256k", "--filename=" + file, "--verify=xxhash", "--ioengine=aio", "--iodepth=4"}
	if out, errOut, code := runCLI(t, bin, nil, args...); code != 0 {
		t.Fatalf("clean run: exit %d\n%s%s", code, out, errOut)
	}
	f, err := os.OpenFile(file, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("corrupted on purpose"), 12*4096+10)
	f.Close()
	_, errOut, code := runCLI(t, bin, nil, args...)
	if code != 1 || !strings.Contains(errOut, "offset 49152") {
		t.Fatalf("run over a corrupted block: exit %d, stderr %q; want 1 naming offset 49152", code, errOut)
	}
}

func TestUsageErrors(t *testing.T) {
	bin := iobench(t)
	cases := []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"--bs=big"}, nil, "not a size"},
		{[]string{"--iodepth=0"}, nil, "iodepth 0"},
		{[]string{"--compare=aio,spdk"}, nil, `unknown engine "spdk"`},
		{[]string{"--rw=sideways"}, nil, "unknown rw"},
		{[]string{"--direct=2"}, nil, "not a boolean (0 or 1)"},
		{[]string{"--output-format=xml"}, nil, "normal, json, json+ or markdown"},
		{[]string{"--no-such-flag"}, nil, "not defined"},
		{[]string{"missing.fio"}, nil, "no such file"},
		{[]string{"testdata-none.fio", "extra"}, nil, "one job file at most"},
		{[]string{"--rw=mixed", "--compare=psync"}, nil, "mixed runs on the aio and ring"},
		{[]string{"--filename=/nonexistent-dir/x", "--runtime=100ms", "--size=1m", "--ioengine=psync"}, nil, "cannot"},
		{[]string{"--ioengine=fio", "--runtime=100ms", "--size=1m"}, []string{"PATH=/nonexistent"}, "apt-get install -y fio"},
	}
	for _, c := range cases {
		_, errOut, code := runCLI(t, bin, c.env, c.args...)
		wantCode := 2
		if strings.HasPrefix(c.args[0], "--filename=/nonexistent") {
			wantCode = 1 // a failure, not a usage error
		}
		if code != wantCode || !strings.Contains(errOut, c.want) {
			t.Errorf("iobench %v: exit %d, stderr %q; want %d and %q", c.args, code, errOut, wantCode, c.want)
		}
	}
	if _, _, code := runCLI(t, bin, nil, "--help"); code != 0 {
		t.Errorf("--help: exit %d", code)
	}
}

// TestJobFile runs the jobs of a fio job file, with flags overriding it.
func TestJobFile(t *testing.T) {
	bin := iobench(t)
	out, errOut, code := runCLI(t, bin, nil, "--runtime=500ms", "--size=8m", "--compare=aio,psync", "../../bench/testdata/randread.fio")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if !strings.Contains(out, "job randread-qd32") || !strings.Contains(out, "job randread-qd1") {
		t.Fatalf("output:\n%s", out)
	}
}

// TestMeaningsAsFio: what iobench used to run with another meaning than
// the user's is refused by name (direct=0 on the aio engine ran O_DIRECT;
// a missing /dev path benchmarked a new file in devtmpfs), or now means
// what fio means (options after the job file override it; a tab before an
// inline comment).
func TestMeaningsAsFio(t *testing.T) {
	var stderr bytes.Buffer
	if _, err := parseArgs([]string{"--direct=0", "--compare=aio,psync"}, &stderr); err == nil || !strings.Contains(err.Error(), "direct=0") {
		t.Errorf("--direct=0 with aio: %v, want refused naming direct=0", err)
	}
	if _, err := parseArgs([]string{"--direct=0", "--compare=psync"}, &stderr); err != nil {
		t.Errorf("--direct=0 with psync: %v", err)
	}
	if _, err := parseArgs([]string{"--filename=/dev/nowait-no-such-disk", "--compare=psync"}, &stderr); err == nil || !strings.Contains(err.Error(), "/dev/nowait-no-such-disk") {
		t.Errorf("a missing device: %v, want refused naming it", err)
	}
	jf := filepath.Join(t.TempDir(), "job.fio")
	if err := os.WriteFile(jf, []byte("[j]\nrw=randread\nsize=16m\nnumjobs=4\t; four of them\niodepth=8\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := parseArgs([]string{jf, "--iodepth=2", "--compare=psync"}, &stderr)
	if err != nil {
		t.Fatalf("a job file, then an option: %v", err)
	}
	defer o.cleanup()
	if j := o.jobs[0]; j.IODepth != 2 || j.NumJobs != 4 {
		t.Errorf("job after --iodepth=2 given after the file: iodepth %d numjobs %d, want 2 and 4", j.IODepth, j.NumJobs)
	}
	if _, err := parseArgs([]string{jf, "extra.fio"}, &stderr); err == nil {
		t.Error("two job files accepted")
	}
	o2, err := parseArgs([]string{"--time_based=false", "--size=64m", "--numjobs=2", "--compare=psync"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer o2.cleanup()
	if j := o2.jobs[0]; j.TimeBased || j.CloneBytes() != 64<<20 {
		t.Errorf("--time_based=false --size=64m --numjobs=2: time-based %v, io %d per clone; want one pass, 64 MiB each", j.TimeBased, j.CloneBytes())
	}
}

// TestSignalPrintsResultsAndRemovesTheTempFile: SIGTERM during a run
// ends it early: the results so far are printed, iobench exits 128+15 and
// leaves no file behind (it printed nothing and left the 1 GiB file in the
// temp directory; later it printed a word and no results).
func TestSignalPrintsResultsAndRemovesTheTempFile(t *testing.T) {
	bin := iobench(t)
	tmp := t.TempDir()
	cmd := exec.Command(bin, "--compare=psync,aio", "--size=64m", "--runtime=60s")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var e bytes.Buffer
	cmd.Stderr = &e
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	var stdout bytes.Buffer
	copied := make(chan struct{})
	go func() { // the job line comes before the run
		defer close(copied)
		buf := make([]byte, 4096)
		told := false
		for {
			n, err := out.Read(buf)
			stdout.Write(buf[:n])
			if !told && bytes.Contains(stdout.Bytes(), []byte("files=")) {
				close(started)
				told = true
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("no job line in 30 s")
	}
	time.Sleep(1500 * time.Millisecond) // into the first run (after the layout)
	cmd.Process.Signal(syscall.SIGTERM)
	err = cmd.Wait()
	<-copied
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 128+15 {
		t.Fatalf("after SIGTERM: %v, want exit code 143\nstderr %s", err, e.String())
	}
	if !strings.Contains(e.String(), "stopping") {
		t.Errorf("stderr after SIGTERM: %q, want a word", e.String())
	}
	if !regexpLine(stdout.String(), "psync") || !strings.Contains(stdout.String(), "interrupted") {
		t.Errorf("no results (psync's row, marked interrupted) after SIGTERM:\n%s", stdout.String())
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) != 0 {
		t.Errorf("left behind after SIGTERM: %v", left)
	}
}

// TestJSONPlusReadByFioTools: fio's own fio_jsonplus_clat2csv (installed
// with Debian's fio) reads iobench's json+ and validates its CSV against
// it; it died on the bare array iobench printed before.
func TestJSONPlusReadByFioTools(t *testing.T) {
	tool, err := exec.LookPath("fio_jsonplus_clat2csv")
	if err != nil {
		t.Skip("fio_jsonplus_clat2csv is not installed (apt-get install -y fio); CI installs it")
	}
	bin := iobench(t)
	dir := t.TempDir()
	out, errOut, code := runCLI(t, bin, nil, "--output-format=json+", "--rw=randrw", "--size=16m", "--runtime=500ms",
		"--compare=psync", "--filename="+filepath.Join(dir, "f"))
	if code != 0 {
		t.Fatalf("json+ run: exit %d\n%s", code, errOut)
	}
	src := filepath.Join(dir, "out.json")
	if err := os.WriteFile(src, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	csv := filepath.Join(dir, "lat.csv")
	if b, err := exec.Command(tool, src, csv).CombinedOutput(); err != nil {
		t.Fatalf("%s on iobench's json+: %v\n%s", tool, err, b)
	}
	if b, err := exec.Command(tool, src, csv, "--validate").CombinedOutput(); err != nil || !strings.Contains(string(b), "validated") {
		t.Fatalf("%s --validate: %v\n%s", tool, err, b)
	}
	data, err := os.ReadFile(filepath.Join(dir, "lat_job0.csv"))
	if err != nil || !strings.Contains(string(data), "read_lat_ns_count") || strings.Count(string(data), "\n") < 3 {
		t.Fatalf("the CSV fio's tool made: %v\n%.500s", err, data)
	}
}

// TestParseOnlyOutputAndPlot: --parse-only prints the jobs as iobench
// reads them, by group, and makes no file; --output writes the results to
// a file; --plot draws them.
func TestParseOnlyOutputAndPlot(t *testing.T) {
	bin := iobench(t)
	dir := t.TempDir()
	jf := filepath.Join(dir, "two.fio")
	if err := os.WriteFile(jf, []byte("[global]\nsize=4m\ndirectory="+dir+"\n[w]\nrw=write\n[r]\nstonewall\nrw=read\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI(t, bin, nil, "--parse-only", jf)
	if code != 0 || !strings.Contains(out, "group 0") || !strings.Contains(out, "group 1") || !strings.Contains(out, "job r: rw=read") {
		t.Fatalf("--parse-only: exit %d\n%s\n%s", code, out, errOut)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*.0.0")); len(files) != 0 {
		t.Fatalf("--parse-only made files: %v", files)
	}
	res, plot := filepath.Join(dir, "out.json"), filepath.Join(dir, "p.svg")
	out, errOut, code = runCLI(t, bin, nil, "--output-format=json", "--output="+res, "--plot="+plot, "--compare=psync", jf)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if strings.Contains(out, "jobs") {
		t.Errorf("--output: the results went to stdout too:\n%s", out)
	}
	data, err := os.ReadFile(res)
	var doc struct {
		Jobs []struct {
			JobName string `json:"jobname"`
			Read    struct {
				TotalIOs int64 `json:"total_ios"`
			} `json:"read"`
			Write struct {
				TotalIOs int64 `json:"total_ios"`
			} `json:"write"`
		} `json:"jobs"`
	}
	if err != nil || json.Unmarshal(data, &doc) != nil || len(doc.Jobs) != 2 {
		t.Fatalf("--output file: %v\n%s", err, data)
	}
	if w, r := doc.Jobs[0], doc.Jobs[1]; w.JobName != "w" || w.Write.TotalIOs != 1024 || r.Read.TotalIOs != 1024 {
		t.Errorf("one pass over 4 MiB in 4 KiB: %+v", doc.Jobs)
	}
	if svg, err := os.ReadFile(plot); err != nil || !strings.Contains(string(svg), "<svg") {
		t.Errorf("--plot: %v", err)
	}
	if !strings.Contains(errOut, "left the 2 files") {
		t.Errorf("no word of the files left in %s: %q", dir, errOut)
	}
}

// TestMixedHonoursRuntime: --rw=mixed ends at --runtime (it ran its
// 200,000 submissions whatever the runtime) and removes its files (it
// left 1.9 GB beside --filename).
func TestMixedHonoursRuntime(t *testing.T) {
	if ring.Available() != nil {
		t.Skip("the mixed job's engines here need io_uring (aio falls back, ring cannot run)")
	}
	bin := iobench(t)
	dir := t.TempDir()
	t0 := time.Now()
	out, errOut, code := runCLI(t, bin, nil, "--rw=mixed", "--runtime=1s", "--submissions=100000000", "--size=64m",
		"--compare=aio", "--filename="+filepath.Join(dir, "x"))
	if code != 0 || !regexpLine(out, "aio") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if took := time.Since(t0); took > 20*time.Second {
		t.Errorf("--runtime=1s with 100M submissions took %v", took)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("left beside --filename: %v", left)
	}
}

// TestJSONReadAsFios: the usual Python one-liner over fio's JSON reads
// iobench's (it failed on the bare array iobench printed before).
func TestJSONReadAsFios(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: the one-liner needs it")
	}
	bin := iobench(t)
	out, errOut, code := runCLI(t, bin, nil, "--output-format=json", "--size=8m", "--runtime=300ms", "--compare=psync",
		"--filename="+filepath.Join(t.TempDir(), "f"))
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	cmd := exec.Command(py, "-c", `import json,sys; d=json.load(sys.stdin); print(d["jobs"][0]["read"]["iops"])`)
	cmd.Stdin = strings.NewReader(out)
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("the one-liner: %v", err)
	}
	if v := strings.TrimSpace(string(got)); v == "" || v == "0" || v == "0.0" {
		t.Errorf("jobs[0][read][iops] = %q", v)
	}
}
