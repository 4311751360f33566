package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"time"
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

// FioArgs is the fio command line for job.
func (e FioEngine) FioArgs(job Job) []string {
	ioengine := e.IOEngine
	if ioengine == "" {
		ioengine = "io_uring"
	}
	rw, direct := string(job.RW), "0"
	if job.Direct {
		direct = "1"
	}
	args := []string{"--name=" + job.Name, "--filename=" + job.Filename, "--bs=" + strconv.FormatInt(job.BS, 10),
		"--iodepth=" + strconv.Itoa(job.IODepth), "--numjobs=" + strconv.Itoa(job.NumJobs),
		"--size=" + strconv.FormatInt(job.Size, 10), "--ioengine=" + ioengine, "--direct=" + direct,
		"--ramp_time=" + durationArg(job.Ramp), "--group_reporting", "--norandommap", "--randrepeat=0", "--output-format=json",
		"--slat_percentiles=1", "--clat_percentiles=1", "--lat_percentiles=1",
		"--percentile_list=50:90:99:99.9:99.99"}
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
	args = append(args, "--rw="+rw)
	if job.RW == RandRW {
		args = append(args, "--rwmixread="+strconv.Itoa(job.RWMixRead))
	}
	if job.ZipfTheta > 0 {
		args = append(args, "--random_distribution=zipf:"+strconv.FormatFloat(job.ZipfTheta, 'f', -1, 64))
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
	if job.TotalBytes > 0 { // fio's io_size is each job's
		args = append(args, "--io_size="+strconv.FormatInt(max(job.TotalBytes/int64(job.NumJobs), job.BS), 10))
	}
	return append(args, e.Extra...)
}

func durationArg(d time.Duration) string {
	return strconv.FormatInt(max(d.Milliseconds(), 0), 10) + "ms"
}

func (e FioEngine) Run(job Job) (Result, error) {
	path, err := exec.LookPath("fio")
	if err != nil {
		return Result{}, ErrNoFio
	}
	cmd := exec.Command(path, e.FioArgs(job)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return Result{}, fmt.Errorf("fio failed: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return parseFio(e.Name(), job, stdout.Bytes())
}

// fioOutput is the part of fio's JSON output this package reads.
type fioOutput struct {
	Jobs []struct {
		JobRuntimeMs int64   `json:"job_runtime"`
		UsrCPU       float64 `json:"usr_cpu"`
		SysCPU       float64 `json:"sys_cpu"`
		Error        int     `json:"error"`
		Read         fioDir  `json:"read"`
		Write        fioDir  `json:"write"`
	} `json:"jobs"`
}

type fioDir struct {
	IOBytes  int64   `json:"io_bytes"`
	TotalIOs int64   `json:"total_ios"`
	IOPS     float64 `json:"iops"`
	BW       float64 `json:"bw_bytes"`
	Slat     fioLat  `json:"slat_ns"`
	Clat     fioLat  `json:"clat_ns"`
	Lat      fioLat  `json:"lat_ns"`
}

type fioLat struct {
	Max        float64            `json:"max"`
	Mean       float64            `json:"mean"`
	N          int64              `json:"N"`
	Percentile map[string]float64 `json:"percentile"`
}

func (l fioLat) percentiles() Percentiles {
	// fio reports a percentile as the upper edge of its histogram bucket,
	// which can lie above the largest value it saw: never above max.
	p := func(k string) int64 { return min(int64(l.Percentile[k]), int64(l.Max)) }
	return Percentiles{P50: p("50.000000"), P90: p("90.000000"), P99: p("99.000000"), P999: p("99.900000"),
		P9999: p("99.990000"), Max: int64(l.Max), Mean: l.Mean, Count: l.N}
}

func parseFio(name string, job Job, out []byte) (Result, error) {
	// fio may print notes before the JSON document.
	if i := bytes.IndexByte(out, '{'); i > 0 {
		out = out[i:]
	}
	var fo fioOutput
	if err := json.Unmarshal(out, &fo); err != nil {
		return Result{}, fmt.Errorf("reading fio's JSON: %w", err)
	}
	if len(fo.Jobs) == 0 {
		return Result{}, fmt.Errorf("fio's JSON has no jobs")
	}
	j := fo.Jobs[0]
	if j.Error != 0 {
		return Result{}, fmt.Errorf("fio reports error %d", j.Error)
	}
	r := Result{Engine: name, Job: job.Name, Elapsed: time.Duration(j.JobRuntimeMs) * time.Millisecond}
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
	}
	secs := r.Elapsed.Seconds() * float64(job.NumJobs)
	r.CPUUser, r.CPUSys = j.UsrCPU/100*secs, j.SysCPU/100*secs
	if r.Ops > 0 {
		r.CPUPerIONs = (r.CPUUser + r.CPUSys) * 1e9 / float64(r.Ops)
	}
	return r, nil
}
