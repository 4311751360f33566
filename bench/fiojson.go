package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
)

// WriteFioJSON prints results in fio 3.x's JSON schema, so that what reads
// fio's output reads iobench's: a document with "fio version" and "jobs",
// one entry per engine and job (jobname, "job options" with the engine as
// ioengine, read, write and trim each with io_bytes, bw, iops and lat_ns
// percentiles, usr_cpu and sys_cpu), and the rest of iobench's figures
// under "nowait". With plus (json+), every lat_ns carries fio's "bins":
// latency in ns to count, from the Go engines' histograms.
//
// iobench's latency runs from before the submit call to the completion,
// which is fio's lat_ns; it has no clat_ns of its own, and its submission
// latency is per call, not per direction, so it is under "nowait" only.
func WriteFioJSON(w io.Writer, jobs []Job, results [][]Result, plus bool) error {
	doc := fioDoc{Version: "iobench (nowait)", Timestamp: time.Now().Unix()}
	for i, rs := range results {
		for _, r := range rs {
			doc.Jobs = append(doc.Jobs, fioJobOf(jobs[i], r, plus))
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

type fioDoc struct {
	Version   string       `json:"fio version"`
	Timestamp int64        `json:"timestamp"`
	Jobs      []fioJobJSON `json:"jobs"`
}

type fioJobJSON struct {
	JobName    string            `json:"jobname"`
	Options    map[string]string `json:"job options"`
	Error      int               `json:"error"`
	RuntimeMs  int64             `json:"job_runtime"`
	Read       fioDirJSON        `json:"read"`
	Write      fioDirJSON        `json:"write"`
	Trim       fioDirJSON        `json:"trim"`
	UsrCPU     float64           `json:"usr_cpu"`
	SysCPU     float64           `json:"sys_cpu"`
	NowaitData Result            `json:"nowait"`
}

type fioDirJSON struct {
	IOBytes  int64      `json:"io_bytes"`
	IOKBytes int64      `json:"io_kbytes"`
	BWBytes  int64      `json:"bw_bytes"`
	BW       int64      `json:"bw"` // KiB/s
	IOPS     float64    `json:"iops"`
	Runtime  int64      `json:"runtime"` // ms
	TotalIOs int64      `json:"total_ios"`
	Lat      fioLatJSON `json:"lat_ns"`
}

type fioLatJSON struct {
	Min        int64            `json:"min"`
	Max        int64            `json:"max"`
	Mean       float64          `json:"mean"`
	N          int64            `json:"N"`
	Percentile map[string]int64 `json:"percentile,omitempty"`
	Bins       map[string]int64 `json:"bins,omitempty"`
}

func fioJobOf(j Job, r Result, plus bool) fioJobJSON {
	ms := r.Elapsed.Milliseconds()
	secs := max(r.Elapsed.Seconds(), 1e-9)
	out := fioJobJSON{
		JobName: j.Name, RuntimeMs: ms, NowaitData: r,
		Options: map[string]string{
			"ioengine": r.Engine, "rw": string(j.RW), "bs": strconv.FormatInt(j.BS, 10),
			"iodepth": strconv.Itoa(j.IODepth), "numjobs": strconv.Itoa(j.NumJobs),
			"size": strconv.FormatInt(j.Size, 10), "filename": j.Filename,
			"direct": map[bool]string{true: "1", false: "0"}[j.Direct],
		},
		UsrCPU: r.CPUUser / secs * 100, SysCPU: r.CPUSys / secs * 100,
	}
	if r.Errors > 0 {
		out.Error = 1
	}
	pcts := j.Percentiles
	if pcts == nil {
		pcts = fioDefaultPercentiles
	}
	out.Read, out.Write = fioDirOf(r.Read, ms, plus, pcts), fioDirOf(r.Write, ms, plus, pcts)
	return out
}

// fioDefaultPercentiles are the percentiles fio reports without a
// percentile_list.
var fioDefaultPercentiles = []float64{1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99, 99.5, 99.9, 99.95, 99.99}

func fioDirOf(d DirResult, ms int64, plus bool, pcts []float64) fioDirJSON {
	out := fioDirJSON{IOBytes: d.Bytes, IOKBytes: d.Bytes >> 10, BWBytes: int64(d.BWBytes), BW: int64(d.BWBytes) >> 10,
		IOPS: d.IOPS, Runtime: ms, TotalIOs: d.Ops}
	if d.Ops == 0 {
		return out
	}
	p := d.Lat
	out.Lat = fioLatJSON{Max: p.Max, Mean: p.Mean, N: p.Count, Percentile: map[string]int64{
		fioPct(50): p.P50, fioPct(90): p.P90, fioPct(99): p.P99, fioPct(99.9): p.P999, fioPct(99.99): p.P9999,
	}}
	if d.hist.h != nil {
		out.Lat.Percentile = map[string]int64{}
		for _, q := range pcts { // the job's percentile_list, or fio's
			out.Lat.Percentile[fioPct(q)] = min(d.hist.h.ValueAtQuantile(q), p.Max)
		}
		out.Lat.Min = d.hist.h.Min()
		if plus {
			out.Lat.Bins = map[string]int64{}
			for _, b := range d.hist.h.Distribution() {
				if b.Count > 0 {
					out.Lat.Bins[strconv.FormatInt(b.To, 10)] += b.Count
				}
			}
		}
	}
	return out
}

// fioPct is a percentile's key as fio prints it: "99.990000".
func fioPct(p float64) string { return fmt.Sprintf("%f", p) }
