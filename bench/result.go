package bench

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/nowaitio/nowait/aio"
)

// Percentiles of a latency distribution, in nanoseconds.
type Percentiles struct {
	P50, P90, P99, P999, P9999, Max int64
	Mean                            float64
	Count                           int64
}

// Result is what one engine did on one job.
type Result struct {
	Engine  string        `json:"engine"`
	Job     string        `json:"job"`
	Ops     int64         `json:"ops"`
	Bytes   int64         `json:"bytes"`
	Elapsed time.Duration `json:"elapsed_ns"`
	IOPS    float64       `json:"iops"`
	BWBytes float64       `json:"bw_bytes_per_s"`
	Lat     Percentiles   `json:"lat_ns"` // completion latency: submit to completion
	// Read and Write are the I/Os of each direction apart (fio's read and
	// write); Lat above combines them for the Go engines.
	Read       DirResult   `json:"read"`
	Write      DirResult   `json:"write"`
	Slat       Percentiles `json:"slat_ns"` // submission latency: one Submit (or io_uring_enter) call
	CPUUser    float64     `json:"cpu_user_s"`
	CPUSys     float64     `json:"cpu_sys_s"`
	CPUPerIONs float64     `json:"cpu_ns_per_io"`
	// FioJobCPUPerIONs is fio's own figure (its JSON's usr_cpu and
	// sys_cpu: the job process over the job's time); CPUPerIONs is then
	// fio's processes' CPU from start to exit (countFioProcesses).
	FioJobCPUPerIONs float64 `json:"fio_job_cpu_ns_per_io,omitempty"`
	Errors           int64   `json:"errors"`
	// Failed: an error ended the job (fio's default; continue_on_error
	// goes on past the kinds it names).
	Failed      bool   `json:"failed,omitempty"`
	VerifyErrs  int64  `json:"verify_errors"`
	VerifyFirst string `json:"verify_first,omitempty"` // the first failure, naming its offset
	// VerifiedReads are the reads checked, in the run and in the verify
	// phase after the writes (do_verify).
	VerifiedReads int64      `json:"verified_reads,omitempty"`
	Stats         *aio.Stats `json:"aio_stats,omitempty"`
	// Stalls is what the stall meter saw while the engine ran: the
	// machine stopping, not the engine (stalls.go).
	Stalls Stalls `json:"machine_stalls"`
	// Series is the IOPS of every SeriesStep over the run (--plot).
	Series     []float64     `json:"iops_series,omitempty"`
	SeriesStep time.Duration `json:"iops_series_step_ns,omitempty"`
	// began and ended are the measured time's ends, wall clock.
	began, ended time.Time
	Note         string `json:"note,omitempty"`
}

// DirResult is one direction's I/Os of a run.
type DirResult struct {
	Ops     int64       `json:"ops"`
	Bytes   int64       `json:"bytes"`
	IOPS    float64     `json:"iops"`
	BWBytes float64     `json:"bw_bytes_per_s"`
	Lat     Percentiles `json:"lat_ns"`
	hist    histogram   // the Go engines' latencies, for json+'s bins
}

// histogram records latencies from 1 ns to 100 s with 3 significant digits.
type histogram struct{ h *hdrhistogram.Histogram }

func newHistogram() histogram { return histogram{hdrhistogram.New(1, 100e9, 3)} }

func (h histogram) record(d time.Duration) { h.h.RecordValue(max(int64(d), 1)) }

func (h histogram) merge(o histogram) { h.h.Merge(o.h) }

func (h histogram) percentiles() Percentiles {
	if h.h.TotalCount() == 0 {
		return Percentiles{}
	}
	return Percentiles{
		P50: h.h.ValueAtQuantile(50), P90: h.h.ValueAtQuantile(90), P99: h.h.ValueAtQuantile(99),
		P999: h.h.ValueAtQuantile(99.9), P9999: h.h.ValueAtQuantile(99.99), Max: h.h.Max(),
		Mean: h.h.Mean(), Count: h.h.TotalCount(),
	}
}

func us(ns int64) string {
	if ns == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(ns)/1000)
}

// WriteTable prints results side by side, with each engine's IOPS and CPU
// per I/O as a ratio to the first result's.
// Notes (errors, a fallback backend) come first, so that nobody reads a
// row without them.
func WriteTable(w io.Writer, results []Result) error {
	for _, r := range results {
		if r.Note != "" {
			fmt.Fprintf(w, "%s: %s\n", r.Engine, r.Note)
		}
	}
	for _, note := range stallNotes(results) {
		fmt.Fprintln(w, "stalls: "+note)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "engine\tIOPS\tvs first\tMiB/s\tlat p50 us\tp99\tp99.99\tmax\tslat p99.99 us\tslat max\tCPU/IO us\tvs first\tstalls\tstall max us\t")
	for _, r := range results {
		base := results[0]
		ratio := func(a, b float64) string {
			if b == 0 {
				return "-"
			}
			return fmt.Sprintf("%.2fx", a/b)
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%s\t%d\t%s\t\n",
			r.Engine, r.IOPS, ratio(r.IOPS, base.IOPS), r.BWBytes/(1<<20),
			us(r.Lat.P50), us(r.Lat.P99), us(r.Lat.P9999), us(r.Lat.Max),
			us(r.Slat.P9999), us(r.Slat.Max), r.CPUPerIONs/1000, ratio(r.CPUPerIONs, base.CPUPerIONs),
			r.Stalls.Count, us(int64(r.Stalls.Max)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return writeByDirection(w, results)
}

// writeByDirection prints, for a job that both reads and writes, each
// engine's reads and writes apart: the combined latency of the table above
// is a mix whose share of each differs by engine, and fio's is only its
// busier direction's.
func writeByDirection(w io.Writer, results []Result) error {
	both := false
	for _, r := range results {
		both = both || (r.Read.Ops > 0 && r.Write.Ops > 0)
	}
	if !both {
		return nil
	}
	fmt.Fprintln(w, "by direction (the combined lat above: the Go engines' mixes both; fio's is its busier direction's):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "engine\tdir\tIOPS\tMiB/s\tlat p50 us\tp99\tp99.99\tmax\t")
	for _, r := range results {
		for _, d := range []struct {
			name string
			d    DirResult
		}{{"read", r.Read}, {"write", r.Write}} {
			fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.1f\t%s\t%s\t%s\t%s\t\n", r.Engine, d.name, d.d.IOPS, d.d.BWBytes/(1<<20),
				us(d.d.Lat.P50), us(d.d.Lat.P99), us(d.d.Lat.P9999), us(d.d.Lat.Max))
		}
	}
	return tw.Flush()
}

// stallNotes says, once each, what makes the stall columns mean less than
// the machine stopping.
func stallNotes(results []Result) []string {
	var unknown, inProcess, normal bool
	for _, r := range results {
		st := r.Stalls
		unknown = unknown || st.Unknown
		inProcess = inProcess || st.InProcess
		normal = normal || !st.Unknown && !st.RealTime
	}
	var notes []string
	if unknown {
		notes = append(notes, "the meter's process ended without its counts: where it did, the stall columns are unknown, not zero")
	}
	if inProcess {
		notes = append(notes, "the meter could not start a process of its own and ran in the engines' process: its wake-ups are in their CPU per I/O, and its counts include its waits for the Go scheduler")
	}
	if normal {
		notes = append(notes, "the meter ran at a normal priority (no CAP_SYS_NICE), so its counts include waits for a CPU the engines caused")
	}
	return notes
}

// WriteMarkdown prints results as a markdown table, with ratios to the
// first result, for docs/benchmarks.md.
func WriteMarkdown(w io.Writer, job string, results []Result) error {
	fmt.Fprintf(w, "| job | engine | IOPS | vs %s | lat p50 us | p99.99 us | slat p99.99 us | slat max us | CPU/IO us | machine stalls (max us) |\n", results[0].Engine)
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		stalls := fmt.Sprintf("%d (%s)", r.Stalls.Count, us(int64(r.Stalls.Max)))
		if r.Stalls.Unknown {
			stalls = "unknown"
		}
		fmt.Fprintf(w, "| %s | %s | %.0f | %.2fx | %s | %s | %s | %s | %.2f | %s |\n", job, r.Engine, r.IOPS, r.IOPS/results[0].IOPS,
			us(r.Lat.P50), us(r.Lat.P9999), us(r.Slat.P9999), us(r.Slat.Max), r.CPUPerIONs/1000, stalls)
	}
	return nil
}
