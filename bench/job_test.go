package bench

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	good := map[string]int64{
		"4096": 4096, "4k": 4096, "4K": 4096, "4KiB": 4096, "4kb": 4096, "1M": 1 << 20, "1MiB": 1 << 20,
		"1g": 1 << 30, "2G": 2 << 30, "1t": 1 << 40, "0": 0, " 16k ": 16384,
	}
	for in, want := range good {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "k", "4x", "-4k", "1.5M", "abc", "99999999999999t"} {
		if got, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"10": 10 * time.Second, "10s": 10 * time.Second, "500ms": 500 * time.Millisecond, "2m": 2 * time.Minute, "0.5": 500 * time.Millisecond} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseDuration("soon"); err == nil {
		t.Error("ParseDuration(soon) accepted")
	}
}

func TestValidate(t *testing.T) {
	base := DefaultJob()
	base.Filename = "/tmp/x"
	if err := base.Validate(); err != nil {
		t.Fatalf("default job: %v", err)
	}
	cases := map[string]func(j *Job){
		"unknown rw":         func(j *Job) { j.RW = "sideways" },
		"bs 0":               func(j *Job) { j.BS = 0 },
		"bs 100 direct":      func(j *Job) { j.BS = 100 },
		"iodepth 0":          func(j *Job) { j.IODepth = 0 },
		"numjobs 0":          func(j *Job) { j.NumJobs = 0 },
		"size below bs":      func(j *Job) { j.Size = 100 },
		"runtime 0":          func(j *Job) { j.Runtime = 0 },
		"rwmixread 101":      func(j *Job) { j.RWMixRead = 101 },
		"no file":            func(j *Job) { j.Filename = "" },
		"verify crc7":        func(j *Job) { j.Verify = "crc7" },
		"negative ramp":      func(j *Job) { j.Ramp = -time.Second },
		"negative zipf":      func(j *Job) { j.ZipfTheta = -1 },
		"verify small bs":    func(j *Job) { j.Verify, j.BS, j.Direct = "xxhash", 16, false },
		"negative fdatasync": func(j *Job) { j.FsyncN = -1 },
	}
	for name, mutate := range cases {
		j := base
		mutate(&j)
		if err := j.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, j)
		}
	}
}

func TestParseJobFiles(t *testing.T) {
	f, err := os.Open("testdata/randread.fio")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	jobs, err := ParseJobFile(f, "testdata")
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 || jobs[0].Name != "randread-qd32" || jobs[1].IODepth != 1 {
		t.Fatalf("jobs %+v", jobs)
	}
	for _, j := range jobs {
		if j.RW != RandRead || j.BS != 4096 || !j.Direct || j.Size != 1<<30 || j.Runtime != 30*time.Second {
			t.Errorf("job %s: %+v", j.Name, j)
		}
	}

	f2, _ := os.Open("testdata/mixed.fio")
	defer f2.Close()
	jobs, err = ParseJobFile(f2, "testdata")
	if err != nil {
		t.Fatal(err)
	}
	j := jobs[0]
	if j.RW != RandRW || j.RWMixRead != 70 || j.BS != 16384 || j.NumJobs != 2 || j.ZipfTheta != 1.2 ||
		j.FsyncN != 100 || j.Verify != "xxhash" || j.Ramp != 2*time.Second || j.Filename != "/tmp/nowait-jobfile-test.dat" {
		t.Fatalf("mixed job %+v", j)
	}

	f3, _ := os.Open("testdata/unsupported.fio")
	defer f3.Close()
	_, err = ParseJobFile(f3, "testdata")
	if err == nil || !strings.Contains(err.Error(), "write_hist_log") || !strings.Contains(err.Error(), "zonemode") {
		t.Fatalf("unsupported options: %v, want both named", err)
	}
	for _, bad := range []string{"", "[global]\nsize=1g\n", "size=1g\n[job]\n", "[job]\nbs=big\n", "[job]\nrw=sideways\n", "[job]\ndirect=maybe\n"} {
		if _, err := ParseJobFile(strings.NewReader(bad), "."); err == nil {
			t.Errorf("job file %q accepted", bad)
		}
	}
}

func TestParseBSSplit(t *testing.T) {
	parts, err := ParseBSSplit("4k/50:64k/30:1m/20")
	if err != nil || len(parts) != 3 || parts[1] != (BSPart{65536, 30}) {
		t.Fatalf("%+v, %v", parts, err)
	}
	if parts, err := ParseBSSplit("4k/10:16k"); err != nil || parts[1].Pct != 90 {
		t.Fatalf("a part without a percentage: %+v, %v", parts, err)
	}
	if s := BSSplitString(parts); s != "4096/50:65536/30:1048576/20" {
		t.Fatalf("BSSplitString: %s", s)
	}
	for _, bad := range []string{"", "4k/50:8k/40", "4k/50:8k:16k", "big/50:4k/50", "4k/120", "4k/x"} {
		if _, err := ParseBSSplit(bad); err == nil {
			t.Errorf("ParseBSSplit(%q) accepted", bad)
		}
	}
}

func TestJobFileBSSplitAndIOSize(t *testing.T) {
	jobs, err := ParseJobFile(strings.NewReader("[mix]\nrw=randread\nbssplit=4k/75:64k/25\nio_size=32m\n"), ".")
	if err != nil {
		t.Fatal(err)
	}
	j := jobs[0]
	if len(j.BSSplit) != 2 || j.BS != 65536 || j.TotalBytes != 32<<20 {
		t.Fatalf("%+v", j)
	}
	args := strings.Join(FioEngine{}.FioArgs(j), " ")
	if !strings.Contains(args, "--bssplit=4096/75:65536/25") || !strings.Contains(args, "--io_size=33554432") {
		t.Fatalf("fio arguments: %s", args)
	}
}

// TestJobFileMeansWhatFioMeans: options that iobench used to take and run
// differently from fio. fsync=N is an fsync (it ran fdatasync); two
// sections of one name are two jobs (they merged into one); an ioengine
// that does no file I/O is refused by name (ioengine=null ran real disk
// I/O); fio's io_uring switches reach the fio engine (they were dropped).
func TestJobFileMeansWhatFioMeans(t *testing.T) {
	jobs, err := ParseJobFile(strings.NewReader("[a]\nfsync=4\n[b]\nfdatasync=8\n"), ".")
	if err != nil {
		t.Fatal(err)
	}
	if !jobs[0].SyncFull || jobs[0].FsyncN != 4 || jobs[1].SyncFull || jobs[1].FsyncN != 8 {
		t.Fatalf("fsync=4 and fdatasync=8: %+v / %+v", jobs[0], jobs[1])
	}
	if args := strings.Join(FioEngine{}.FioArgs(jobs[0]), " "); !strings.Contains(args, "--fsync=4") || strings.Contains(args, "--fdatasync") {
		t.Errorf("fsync=4 reaches fio as %q", args)
	}
	if _, err := ParseJobFile(strings.NewReader("[a]\nfsync=4\nfdatasync=8\n"), "."); err == nil {
		t.Error("fsync and fdatasync in one job accepted")
	}

	jobs, err = ParseJobFile(strings.NewReader("[w]\nrw=randwrite\n[w]\nrw=randread\n"), ".")
	if err != nil || len(jobs) != 2 || jobs[0].RW != RandWrite || jobs[1].RW != RandRead {
		t.Fatalf("two sections named w: %d jobs, %v (%+v)", len(jobs), err, jobs)
	}

	for _, e := range []string{"io_uring", "libaio", "psync", "sync", "pvsync"} {
		if _, err := ParseJobFile(strings.NewReader("[a]\nioengine="+e+"\n"), "."); err != nil {
			t.Errorf("ioengine=%s: %v", e, err)
		}
	}
	if _, err := ParseJobFile(strings.NewReader("[a]\nioengine=null\n"), "."); err == nil || !strings.Contains(err.Error(), `"null"`) {
		t.Errorf("ioengine=null: %v, want refused by name", err)
	}

	jobs, err = ParseJobFile(strings.NewReader("[a]\nfixedbufs\nregisterfiles=1\nsqthread_poll=0\nhipri\n"), ".")
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Join(FioEngine{}.FioArgs(jobs[0]), " ")
	for _, want := range []string{"--fixedbufs", "--registerfiles", "--hipri"} {
		if !strings.Contains(args, want) {
			t.Errorf("fio's command line %q lacks %s", args, want)
		}
	}
	if strings.Contains(args, "--sqthread_poll") {
		t.Errorf("sqthread_poll=0 reached fio as set: %q", args)
	}
}

// TestFioPercentilesNeverAboveMax: fio reports a percentile as its
// histogram bucket's upper edge, which can exceed the largest latency it
// saw; the fio row printed p99.99 above max.
func TestFioPercentilesNeverAboveMax(t *testing.T) {
	l := fioLat{Max: 1000, Percentile: map[string]float64{"50.000000": 400, "99.990000": 1024}}
	if p := l.percentiles(); p.P9999 != 1000 || p.P50 != 400 {
		t.Fatalf("p50 %d, p99.99 %d with max 1000: want 400 and 1000", p.P50, p.P9999)
	}
}

// TestJobFileNotTimeBased: a job file without time_based means what fio
// means: one pass over the size (per job), with no runtime limit unless
// it sets one. It ran 10 s whatever its size.
func TestJobFileNotTimeBased(t *testing.T) {
	jobs, err := ParseJobFile(strings.NewReader("[once]\nrw=read\nsize=8m\nnumjobs=2\n[timed]\nrw=read\nsize=8m\ntime_based\nruntime=2s\n"), ".")
	if err != nil {
		t.Fatal(err)
	}
	once, timed := jobs[0], jobs[1]
	if once.TimeBased || once.Runtime != 0 || once.CloneBytes() != 8<<20 {
		t.Fatalf("without time_based: time-based %v, runtime %v, io %d per clone; want false, none, 8 MiB", once.TimeBased, once.Runtime, once.CloneBytes())
	}
	if !timed.TimeBased || timed.Runtime != 2*time.Second || timed.CloneBytes() != 0 {
		t.Fatalf("time_based, runtime=2s: %+v", timed)
	}
	args := strings.Join(FioEngine{}.FioArgs(once), " ")
	if strings.Contains(args, "--time_based") || strings.Contains(args, "--runtime") || !strings.Contains(args, "--size=8388608") {
		t.Errorf("fio's command line for one pass: %q", args)
	}
	if _, err := ParseJobFile(strings.NewReader("[j]\ntime_based\n"), "."); err == nil {
		t.Error("time_based without a runtime accepted")
	}
	// One pass on a Go engine: the bytes are the size, then it stops.
	once.Filename, once.NumJobs = filepath.Join(t.TempDir(), "f"), 1
	if err := once.Validate(); err != nil {
		t.Fatal(err)
	}
	r, err := runOn(once, PsyncEngine{})
	if err != nil {
		t.Fatal(err)
	}
	if r[0].Bytes != 8<<20 {
		t.Errorf("one pass over 8 MiB read %d bytes", r[0].Bytes)
	}
}

// TestJobFileOptionsAsFio reads a job file with the options fio's own
// examples use most, each as fio reads it. Most of them were refused
// (name, rw=readwrite, rwmixwrite, directory, buffered, loops, rate,
// thinktime, offset, include, ${VAR}), so that 4 of fio's 107 examples
// parsed.
func TestJobFileOptionsAsFio(t *testing.T) {
	t.Setenv("IOBENCH_TEST_SIZE", "16m")
	jobs, err := ReadJobFile("testdata/options.fio")
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 3 {
		t.Fatalf("%d jobs", len(jobs))
	}
	mix, holes, seeks := jobs[0], jobs[1], jobs[2]
	ncpu := runtime.NumCPU()
	check := func(name string, ok bool, j Job) {
		t.Helper()
		if !ok {
			t.Errorf("%s: %+v", name, j)
		}
	}
	check("include, ${VAR}, $ncpus", mix.IODepth == 4 && mix.Size == 16<<20 && mix.NumJobs == ncpu, mix)
	check("name, description", mix.Name == "renamed" && strings.HasPrefix(mix.Description, "sequential"), mix)
	check("readwrite, rwmixwrite", mix.RW == ReadWrite && mix.RWMixRead == 70, mix)
	check("buffered, loops, startdelay, bs pair", !mix.Direct && mix.Loops == 2 && mix.StartDelay == time.Second && mix.BS == 4096, mix)
	check("stonewall", !mix.Stonewall && holes.Stonewall && !seeks.Stonewall, holes)
	check("rw=write:8k", holes.RW == Write && holes.SeqMod == 8192, holes)
	check("filename list, filesize, offset", holes.FileSize == 1<<20 && holes.Offset == 65536 && holes.OffsetIncrement == 1<<20, holes)
	check("verify=crc32c-intel, do_verify=0", holes.Verify == "crc32c" && !holes.DoVerify, holes)
	check("randread:8, nrfiles", seeks.RW == RandRead && seeks.SeqMod == 8 && seeks.NrFiles == 3, seeks)
	check("thinktime in µs", seeks.Think == 50*time.Microsecond && seeks.ThinkSpin == 10*time.Microsecond && seeks.ThinkBlocks == 4, seeks)
	check("rate pairs", seeks.Rate == [2]int64{1 << 20, 500 << 10} && seeks.RateIOPS == [2]int64{0, 200}, seeks)

	f := holes.Files(1)
	if len(f) != 2 || f[0].Path != "/tmp/iobench-options/one" || f[1].Path != "/tmp/iobench-options/two:three" || f[0].Base != 65536+1<<20 {
		t.Errorf("holes' files for clone 1: %+v", f)
	}
	if f := seeks.Files(1); len(f) != 3 || f[2].Path != "/tmp/iobench-other/seeks.1.2" {
		t.Errorf("seeks' files for clone 1 (the second directory): %+v", f)
	}
	args := strings.Join(FioEngine{}.FioArgs(holes, seeks), " ")
	for _, want := range []string{"--name=holes", "--rw=write:8192", "--offset=65536", "--verify=crc32c", "--do_verify=0",
		"--name=seeks", "--rw=randread:8", "--nrfiles=3", "--thinktime=50", "--rate=1048576,512000", "--rate_iops=,200"} {
		if !strings.Contains(args, want) {
			t.Errorf("fio's command line lacks %s: %s", want, args)
		}
	}
	for _, bad := range []string{"[j]\nrw=trim\n", "[j]\nbs=4k,8k\n", "[j]\nverify=meta\n", "[j]\nrate=1,2,3\n", "[j]\ninclude /nonexistent.fio\n", "[j]\nwrite_hist_log=x\n"} {
		if _, err := ParseJobFile(strings.NewReader(bad), "."); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestPercentileList: percentile_list chooses the JSON's percentiles, and
// without it they are fio's default list (it was ignored).
func TestPercentileList(t *testing.T) {
	jobs, err := ParseJobFile(strings.NewReader("[p]\nrw=randread\nsize=1m\npercentile_list=99.5:99.95\n[d]\nrw=randread\nsize=1m\n"), ".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i := range jobs {
		jobs[i].Directory = dir
	}
	rs, err := (&Runner{Engines: []Engine{PsyncEngine{}}}).Run(jobs)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := WriteFioJSON(&out, jobs, rs, false); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Jobs []struct {
			Read struct {
				Lat struct {
					Percentile map[string]int64 `json:"percentile"`
				} `json:"lat_ns"`
			} `json:"read"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(out.String()), &doc); err != nil {
		t.Fatal(err)
	}
	p, d := doc.Jobs[0].Read.Lat.Percentile, doc.Jobs[1].Read.Lat.Percentile
	if len(p) != 2 || p["99.500000"] <= 0 || p["99.950000"] <= 0 {
		t.Errorf("percentile_list=99.5:99.95 gave %v", p)
	}
	if len(d) != len(fioDefaultPercentiles) || d["1.000000"] <= 0 || d["99.990000"] < d["50.000000"] {
		t.Errorf("fio's default list: %v", d)
	}
}
