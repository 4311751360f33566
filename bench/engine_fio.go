package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// FioEngine runs the fio binary (its io_uring engine by default) with the
// job's equivalent and reads its JSON output.
type FioEngine struct {
	IOEngine string   // fio's ioengine: "io_uring" (default), "psync", "libaio"
	Extra    []string // more fio options, e.g. --fixedbufs
}

func (e FioEngine) Name() string {
	if e.IOEngine == "" || e.IOEngine == "io_uring" {
		return "fio"
	}
	return "fio-" + e.IOEngine
}

// ErrNoFio says fio is not installed, and how to install it.
var ErrNoFio = fmt.Errorf("fio is not installed: apt-get install -y fio (Debian, Ubuntu) or dnf install fio")

// FioArgs is fio's command line for a group of jobs run at once: options
// common to all, then each job after its --name. Each job starts a
// reporting group of its own, so that fio reports its clones together
// (group_reporting) and every job apart.
func (e FioEngine) FioArgs(jobs ...Job) []string {
	args := []string{"--output-format=json+", "--group_reporting",
		"--slat_percentiles=1", "--clat_percentiles=1", "--lat_percentiles=1",
		"--percentile_list=50:90:99:99.9:99.99"}
	for _, j := range jobs {
		args = append(args, e.jobArgs(j)...)
	}
	return append(args, e.Extra...)
}

// jobArgs is one job's part of fio's command line.
func (e FioEngine) jobArgs(job Job) []string {
	ioengine := e.IOEngine
	if ioengine == "" {
		ioengine = "io_uring"
	}
	itoa := func(n int64) string { return strconv.FormatInt(n, 10) }
	rw, direct := string(job.RW), "0"
	if job.Direct {
		direct = "1"
	}
	args := []string{"--name=" + job.Name, "--new_group", "--bs=" + itoa(job.BS),
		"--iodepth=" + strconv.Itoa(job.IODepth), "--numjobs=" + strconv.Itoa(job.NumJobs),
		"--size=" + itoa(job.Size), "--ioengine=" + ioengine, "--direct=" + direct,
		"--ramp_time=" + durationArg(job.Ramp)}
	if job.Filename != "" {
		args = append(args, "--filename="+job.Filename)
	} else {
		args = append(args, "--nrfiles="+strconv.Itoa(job.NrFiles))
	}
	if job.Directory != "" {
		args = append(args, "--directory="+job.Directory)
	}
	for _, o := range []struct {
		name string
		v    int64
	}{{"filesize", job.FileSize}, {"offset", job.Offset}, {"offset_increment", job.OffsetIncrement}} {
		if o.v > 0 {
			args = append(args, "--"+o.name+"="+itoa(o.v))
		}
	}
	if job.Runtime > 0 {
		args = append(args, "--runtime="+durationArg(job.Runtime))
	}
	if job.TimeBased {
		args = append(args, "--time_based")
	}
	if job.RW == Append {
		// Writes from the start of an empty file that fio must not lay out
		// or preallocate first: every write extends the file.
		rw = "write"
		args = append(args, "--fallocate=none", "--create_on_open=1")
	}
	if job.SeqMod > 0 {
		rw += ":" + itoa(job.SeqMod)
	}
	args = append(args, "--rw="+rw)
	if job.RW.mixed() {
		args = append(args, "--rwmixread="+strconv.Itoa(job.RWMixRead))
	}
	if job.ZipfTheta > 0 {
		args = append(args, "--random_distribution=zipf:"+strconv.FormatFloat(job.ZipfTheta, 'f', -1, 64))
	}
	if job.Zones != nil {
		args = append(args, "--random_distribution="+ZonesString(job.Zones))
	}
	if job.BlockAlign > 0 {
		args = append(args, "--blockalign="+itoa(job.BlockAlign))
	}
	if job.FsyncN > 0 && job.SyncFull {
		args = append(args, "--fsync="+strconv.Itoa(job.FsyncN))
	} else if job.FsyncN > 0 {
		args = append(args, "--fdatasync="+strconv.Itoa(job.FsyncN))
	}
	args = append(args, job.FioOptions...)
	if len(job.BSSplit) > 0 {
		args = append(args, "--bssplit="+BSSplitString(job.BSSplit))
	}
	if job.TotalBytes > 0 { // fio's io_size is each clone's, as TotalBytes
		args = append(args, "--io_size="+itoa(max(job.TotalBytes, job.BS)))
	}
	if job.ExitAll {
		args = append(args, "--exitall")
	}
	if job.NumberIOs > 0 {
		args = append(args, "--number_ios="+itoa(job.NumberIOs))
	}
	if job.NoFallocate && job.RW != Append {
		args = append(args, "--fallocate=none")
	}
	// The batching as the Go engines resolve it (fio resolves it alike).
	b := job.batching()
	args = append(args, "--iodepth_batch_submit="+strconv.Itoa(b.submit), "--iodepth_batch_complete_min="+strconv.Itoa(job.BatchCompleteMin),
		"--iodepth_batch_complete_max="+strconv.Itoa(b.reapMax), "--iodepth_low="+strconv.Itoa(b.low))
	if job.Loops > 1 {
		args = append(args, "--loops="+strconv.Itoa(job.Loops))
	}
	if job.StartDelay > 0 {
		args = append(args, "--startdelay="+durationArg(job.StartDelay))
	}
	if job.Think > 0 {
		args = append(args, "--thinktime="+itoa(job.Think.Microseconds()), "--thinktime_blocks="+strconv.Itoa(job.ThinkBlocks))
		if job.ThinkSpin > 0 {
			args = append(args, "--thinktime_spin="+itoa(job.ThinkSpin.Microseconds()))
		}
	}
	if pair := ratePair(job.Rate); pair != "" {
		args = append(args, "--rate="+pair)
	}
	if pair := ratePair(job.RateIOPS); pair != "" {
		args = append(args, "--rate_iops="+pair)
	}
	for _, l := range []struct{ opt, prefix string }{{"write_lat_log", job.LatLog}, {"write_bw_log", job.BWLog}, {"write_iops_log", job.IOPSLog}} {
		if l.prefix != "" {
			args = append(args, "--"+l.opt+"="+l.prefix)
		}
	}
	if job.LogOffset {
		args = append(args, "--log_offset=1")
	}
	if job.LogAvg > 0 {
		args = append(args, "--log_avg_msec="+itoa(job.LogAvg.Milliseconds()))
	}
	if job.NoRandomMap {
		args = append(args, "--norandommap")
	}
	if !job.RandRepeat {
		args = append(args, "--randrepeat=0")
	}
	if job.Verify != "" {
		// verify_state_save=0: fio would leave a state file in the
		// current directory.
		args = append(args, "--verify_state_save=0", "--verify="+job.Verify, "--do_verify="+map[bool]string{true: "1", false: "0"}[job.DoVerify])
	}
	return args
}

// ratePair writes a read,write cap as fio takes it ("" when neither is set).
func ratePair(r [2]int64) string {
	if r[0] == 0 && r[1] == 0 {
		return ""
	}
	s := func(v int64) string {
		if v == 0 {
			return ""
		}
		return strconv.FormatInt(v, 10)
	}
	return s(r[0]) + "," + s(r[1])
}

func durationArg(d time.Duration) string {
	return strconv.FormatInt(max(d.Milliseconds(), 0), 10) + "ms"
}

func (e FioEngine) run(g *groupRun) ([]Result, error) {
	path, err := exec.LookPath("fio")
	if err != nil {
		return nil, ErrNoFio
	}
	jobs := make([]Job, len(g.jobs))
	for i, jr := range g.jobs {
		jobs[i] = *jr.job
		for _, p := range []*string{&jobs[i].LatLog, &jobs[i].BWLog, &jobs[i].IOPSLog} {
			if *p != "" {
				*p += g.logSuffix
			}
		}
	}
	args := e.FioArgs(jobs...)
	var logDir string
	if SeriesStep > 0 { // fio's IOPS log, per job and clone, for the plot
		if logDir, err = os.MkdirTemp("", "iobench-fio-logs"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(logDir)
		args = withIOPSLogs(args, logDir)
	}
	cmd := exec.Command(path, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	stopped := make(chan struct{})
	go func() { // Ctrl-C: fio, sent SIGINT, ends its jobs and reports them
		select {
		case <-interruptCh:
			if cmd.Process != nil {
				cmd.Process.Signal(os.Interrupt)
			}
		case <-stopped:
		}
	}()
	err = cmd.Run()
	close(stopped)
	if err != nil && !interrupted.Load() {
		return nil, fmt.Errorf("fio failed: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	res, err := parseFio(e.Name(), jobs, stdout.Bytes())
	if err == nil && cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			countFioProcesses(res, tvSeconds(unix.Timeval{Sec: ru.Utime.Sec, Usec: ru.Utime.Usec}), tvSeconds(unix.Timeval{Sec: ru.Stime.Sec, Usec: ru.Stime.Usec}))
		}
	}
	if err == nil && logDir != "" {
		for i := range res {
			res[i].Series, res[i].SeriesStep = readIOPSLogs(filepath.Join(logDir, fmt.Sprintf("j%d", i))), SeriesStep
		}
	}
	return res, err
}

// countFioProcesses makes the CPU of fio's results its processes' (user
// and system seconds of fio and the children it waited for, from start
// to exit), as the Go engines' is their whole process's, shared among the
// group's jobs by fio's own figures; fio's own figure for each job is
// kept in FioJobCPUPerIONs. fio's figure is its job process's over the
// job's time and leaves out much of the work: around one run of 4 KiB
// writes, each followed by an fdatasync, time(1) counted 148 µs per write
// where fio's JSON said 16.5; on random reads 7.18 against 6.63
// (decisions.md). What this adds that is not I/O: fio's start-up and
// exit, and its main process's helper thread.
func countFioProcesses(res []Result, user, sys float64) {
	own := 0.0
	for _, r := range res {
		own += r.CPUUser + r.CPUSys
	}
	for i := range res {
		r := &res[i]
		share := 1 / float64(len(res))
		if own > 0 {
			share = (r.CPUUser + r.CPUSys) / own
		}
		r.FioJobCPUPerIONs = r.CPUPerIONs
		r.CPUUser, r.CPUSys = user*share, sys*share
		if r.Ops > 0 {
			r.CPUPerIONs = (r.CPUUser + r.CPUSys) * 1e9 / float64(r.Ops)
		}
	}
}

// withIOPSLogs adds to each job of fio's command line an IOPS log in dir
// (dir/jK_iops.CLONE.log), averaged over SeriesStep.
func withIOPSLogs(args []string, dir string) []string {
	var out []string
	k := 0
	for _, a := range args {
		out = append(out, a)
		if strings.HasPrefix(a, "--name=") {
			out = append(out, "--write_iops_log="+filepath.Join(dir, fmt.Sprintf("j%d", k)),
				"--log_avg_msec="+strconv.FormatInt(max(SeriesStep.Milliseconds(), 1), 10))
			k++
		}
	}
	return out
}

// readIOPSLogs adds up the IOPS logs of a job's clones (lines of
// "msec, iops, ...") into one series of SeriesStep steps.
func readIOPSLogs(prefix string) []float64 {
	paths, _ := filepath.Glob(prefix + "_iops.*.log")
	var series []float64
	step := max(SeriesStep.Milliseconds(), 1)
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Split(line, ",")
			if len(f) < 2 {
				continue
			}
			ms, err1 := strconv.ParseInt(strings.TrimSpace(f[0]), 10, 64)
			v, err2 := strconv.ParseFloat(strings.TrimSpace(f[1]), 64)
			if err1 != nil || err2 != nil {
				continue
			}
			i := int(ms / step)
			for len(series) <= i {
				series = append(series, 0)
			}
			series[i] += v
		}
	}
	return series
}

// fioOutput is the part of fio's JSON output this package reads.
type fioOutput struct {
	Jobs []struct {
		JobName      string  `json:"jobname"`
		GroupID      int     `json:"groupid"`
		JobRuntimeMs int64   `json:"job_runtime"`
		UsrCPU       float64 `json:"usr_cpu"`
		SysCPU       float64 `json:"sys_cpu"`
		Error        int     `json:"error"`
		Read         fioDir  `json:"read"`
		Write        fioDir  `json:"write"`
	} `json:"jobs"`
}

type fioDir struct {
	IOBytes   int64   `json:"io_bytes"`
	RuntimeMs int64   `json:"runtime"`
	TotalIOs  int64   `json:"total_ios"`
	IOPS      float64 `json:"iops"`
	BW        float64 `json:"bw_bytes"`
	Slat      fioLat  `json:"slat_ns"`
	Clat      fioLat  `json:"clat_ns"`
	Lat       fioLat  `json:"lat_ns"`
}

type fioLat struct {
	Max        float64            `json:"max"`
	Mean       float64            `json:"mean"`
	N          int64              `json:"N"`
	Percentile map[string]float64 `json:"percentile"`
	Bins       map[string]int64   `json:"bins"` // json+: latency in ns to count
}

// histogram is fio's json+ bins as a histogram, for the plot and json+.
func (l fioLat) histogram() histogram {
	h := newHistogram()
	for k, n := range l.Bins {
		if v, err := strconv.ParseInt(k, 10, 64); err == nil {
			h.h.RecordValues(max(v, 1), n)
		}
	}
	return h
}

func (l fioLat) percentiles() Percentiles {
	// fio reports a percentile as the upper edge of its histogram bucket,
	// which can lie above the largest value it saw: never above max.
	p := func(k string) int64 { return min(int64(l.Percentile[k]), int64(l.Max)) }
	return Percentiles{P50: p("50.000000"), P90: p("90.000000"), P99: p("99.000000"), P999: p("99.900000"),
		P9999: p("99.990000"), Max: int64(l.Max), Mean: l.Mean, Count: l.N}
}

// parseFio reads fio's JSON report of a group: one entry per job (each
// job is a reporting group of its own, its clones reported together), in
// the order of the command line.
func parseFio(name string, jobs []Job, out []byte) ([]Result, error) {
	// fio may print notes before the JSON document.
	if i := bytes.IndexByte(out, '{'); i > 0 {
		out = out[i:]
	}
	var fo fioOutput
	if err := json.Unmarshal(out, &fo); err != nil {
		return nil, fmt.Errorf("reading fio's JSON: %w", err)
	}
	if len(fo.Jobs) != len(jobs) {
		return nil, fmt.Errorf("fio's JSON has %d jobs, not the %d it was given", len(fo.Jobs), len(jobs))
	}
	res := make([]Result, len(jobs))
	for i, j := range fo.Jobs {
		if j.Error != 0 {
			return nil, fmt.Errorf("fio reports error %d (%s) for job %s", j.Error, unix.Errno(j.Error), j.JobName)
		}
		job := jobs[i]
		// A direction's runtime is its clones' longest; job_runtime adds them up.
		r := Result{Engine: name, Job: job.Name, Elapsed: time.Duration(max(j.Read.RuntimeMs, j.Write.RuntimeMs)) * time.Millisecond}
		r.Ops = j.Read.TotalIOs + j.Write.TotalIOs
		r.Bytes = j.Read.IOBytes + j.Write.IOBytes
		r.IOPS = j.Read.IOPS + j.Write.IOPS
		r.BWBytes = j.Read.BW + j.Write.BW
		main := j.Read
		if j.Write.TotalIOs > j.Read.TotalIOs {
			main = j.Write
		}
		// lat is submission to completion, as the Go engines measure it. fio
		// gives it per direction: the combined row has the busier one's, and
		// Read and Write have each (the table by direction shows both).
		r.Lat, r.Slat = main.Lat.percentiles(), main.Slat.percentiles()
		for _, d := range []struct {
			to   *DirResult
			from fioDir
		}{{&r.Read, j.Read}, {&r.Write, j.Write}} {
			*d.to = DirResult{Ops: d.from.TotalIOs, Bytes: d.from.IOBytes, IOPS: d.from.IOPS, BWBytes: d.from.BW, Lat: d.from.Lat.percentiles()}
			if len(d.from.Lat.Bins) > 0 {
				d.to.hist = d.from.Lat.histogram()
			}
		}
		// usr_cpu and sys_cpu are percent of the job's runtime, which for a
		// group report is its clones' runtimes added up.
		secs := float64(j.JobRuntimeMs) / 1000
		r.CPUUser, r.CPUSys = j.UsrCPU/100*secs, j.SysCPU/100*secs
		if r.Ops > 0 {
			r.CPUPerIONs = (r.CPUUser + r.CPUSys) * 1e9 / float64(r.Ops)
		}
		if interrupted.Load() {
			addNote(&r, "interrupted: the run was cut short")
		}
		res[i] = r
	}
	return res, nil
}
