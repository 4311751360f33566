package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nowaitio/nowait/bench"
)

// options is what the command line asks for. Owner: main's goroutine.
type options struct {
	jobs       []bench.Job
	engines    []bench.Engine
	repeat     int
	format     string
	output     string // --output: results to this file, not stdout
	plot       string // --plot: a picture of the latency CDFs and IOPS over time
	parseOnly  bool
	tempDir    string // the default files' directory, removed at the end
	cpuprofile string
	status     bool // a live status line (stdout is a terminal)
	mixed      int  // --rw=mixed: timed submissions (0: not the mixed job)
	// mixedRuntime: --runtime given with --rw=mixed ends it early;
	// mixedSize: --size, the size of the file it reads.
	mixedRuntime time.Duration
	mixedSize    int64
}

// jobFlag is one job option on the command line, named as in a job file
// (fio's command line takes every job option): the values are kept in
// order and applied to every job after its job file's.
type jobFlag struct {
	name   string
	isBool bool
	set    *[]jobSetting
}

type jobSetting struct{ name, value string }

func (f *jobFlag) String() string   { return "" }
func (f *jobFlag) IsBoolFlag() bool { return f.isBool }
func (f *jobFlag) Set(v string) error {
	*f.set = append(*f.set, jobSetting{f.name, v})
	return nil
}

// jobFlags are the job options the command line takes, with their help.
// The defaults are bench.DefaultJob's.
var jobFlags = []struct {
	name, usage string
	isBool      bool
}{
	{"name", "the job's name (default: from rw, bs and iodepth)", false},
	{"rw", "read, write, rw (readwrite), randread, randwrite, randrw, append, or mixed (the submission-latency mix); fio's :N modifier", false},
	{"bs", "block size (4096, 4k, 1M) (default 4k)", false},
	{"bssplit", "mixed block sizes by weight, as fio writes them: 4k/50:64k/50", false},
	{"iodepth", "I/Os in flight per clone (default 32)", false},
	{"iodepth_batch_submit", "I/Os per submit call (default 1: each as soon as it is ready, as fio; 0: iodepth)", false},
	{"iodepth_batch_complete_min", "completions a wait waits for (default 1)", false},
	{"iodepth_batch_complete_max", "completions a wait takes at most (default: the minimum, as fio)", false},
	{"iodepth_low", "a full queue is reaped down to this many before it fills again (default: iodepth)", false},
	{"numjobs", "clones of the job, running at once (default 1)", false},
	{"size", "each clone's region: the file size, divided among its files (default 1g)", false},
	{"filesize", "each file's size, instead of size divided among the files", false},
	{"io_size", "bytes each clone issues; without --time_based, the run ends there", false},
	{"offset", "where the region starts in each file", false},
	{"offset_increment", "each clone's region starts this much after the one before", false},
	{"runtime", "measured time per engine and repeat (default 10s)", false},
	{"time_based", "run for --runtime whatever the size (default true); false: one pass over --size per clone, as fio without time_based", true},
	{"ramp_time", "time run before measuring", false},
	{"startdelay", "the job starts this long after its group", false},
	{"loops", "passes over the size (not time-based)", false},
	{"direct", "1: O_DIRECT (default), 0: page cache (not on the aio engine)", false},
	{"buffered", "the opposite of --direct", false},
	{"filename", "the file, or a ':' list (default: files in a new temporary directory, removed at the end)", false},
	{"directory", "where generated files go", false},
	{"nrfiles", "files per clone when no filename is given", false},
	{"rwmixread", "rw, randrw: percent of reads (default 50)", false},
	{"rwmixwrite", "rw, randrw: percent of writes", false},
	{"random_distribution", "random, zipf:THETA or zoned:PCT/SPAN:...", false},
	{"norandommap", "random offsets with replacement (without: each block once per pass, fio's random map)", true},
	{"randrepeat", "the same random offsets every run (default true)", true},
	{"blockalign", "random offsets are multiples of this", false},
	{"number_ios", "each clone ends after this many I/Os", false},
	{"fallocate", "a write-only job's new file: native (fallocate'd, default) or none (sparse)", false},
	{"fdatasync", "an fdatasync after every N writes, ordered after them", false},
	{"fsync", "as --fdatasync, with fsync", false},
	{"thinktime", "stall this long (µs unless a unit is given) after every thinktime_blocks completions", false},
	{"thinktime_spin", "spin for this part of the thinktime", false},
	{"thinktime_blocks", "completions between thinktimes (default 1)", false},
	{"rate", "cap each clone's bandwidth, bytes/s: R, or R,W for reads and writes", false},
	{"rate_iops", "cap each clone's IOPS: R, or R,W", false},
	{"verify", "xxhash, crc32c, crc32, crc64, md5, sha1 or sha256: a header and checksum in every written block, checked on every read and after the writes", false},
	{"do_verify", "read back what a job wrote, after it (default true with --verify)", true},
	{"verify_fatal", "the first verify failure ends the job", true},
	{"continue_on_error", "none (default: the first I/O error ends the job), read, write, io, verify or all", false},
	{"percentile_list", "the JSON's latency percentiles, as 99:99.9 (default fio's list)", false},
	{"write_lat_log", "fio's latency log: PREFIX_lat.N.log per clone", false},
	{"write_bw_log", "fio's bandwidth log: PREFIX_bw.N.log", false},
	{"write_iops_log", "fio's IOPS log: PREFIX_iops.N.log", false},
	{"log_avg_msec", "average the logs over this many ms", false},
	{"log_offset", "the latency log has each I/O's offset", true},
	{"overwrite", "a write-only job's new file is written first, not fallocate'd", true},
	{"unlink", "remove the job's files after it", true},
	{"fixedbufs", "the fio engine's fixedbufs", true},
	{"registerfiles", "the fio engine's registerfiles", true},
	{"sqthread_poll", "the fio engine's sqthread_poll", true},
	{"hipri", "the fio engine's hipri", true},
}

func parseArgs(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("iobench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: iobench [flags] [job.fio] [flags]\n\nAn fio-like benchmark comparing nowait's aio runtime with the pread/pwrite\nbaseline (psync), the bare ring and fio. Job options are fio's, on the\ncommand line as in a job file; given with a job file, they override it:\n\n")
		fs.PrintDefaults()
	}
	var settings []jobSetting
	for _, f := range jobFlags {
		fs.Var(&jobFlag{name: f.name, isBool: f.isBool, set: &settings}, f.name, f.usage)
	}
	ioengine := fs.String("ioengine", "", "run one engine: aio, psync, ring or fio (or fio's names: io_uring, libaio, sync, ...)")
	compare := fs.String("compare", "", "engines to run in turn; ratios are to the first (default aio,psync; with a job file naming ioengines, aio and those)")
	ioUring := fs.String("io_uring", "fio", "what a job file's ioengine=io_uring runs: fio (fio's engine) or ring (the bare ring)")
	repeat := fs.Int("repeat", 1, "interleaved repeats per engine; the median run is reported")
	prealloc := fs.Bool("prealloc", false, "start each run from a new fallocate'd file that was never written (unwritten space)")
	format := fs.String("output-format", "normal", "normal, json or json+ (fio 3.x's schema, iobench's own figures under \"nowait\"), or markdown")
	output := fs.String("output", "", "write the results to this file (as fio's --output)")
	plot := fs.String("plot", "", "draw every engine's latency CDF and IOPS over the run into this .svg or .png")
	parseOnly := fs.Bool("parse-only", false, "parse the options and job file, print the jobs, run nothing")
	submissions := fs.Int("submissions", 1000000, "--rw=mixed: timed Submit calls (each one I/O by default, as fio submits)")
	cpuprofile := fs.String("cpuprofile", "", "write a Go CPU profile of the run to this file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageError{err}
	}
	// Options after the job file override it, as fio's do: the flag
	// package stops at the first argument that is not a flag.
	var jobFile string
	if fs.NArg() > 0 {
		jobFile = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return nil, usageError{err}
		}
		if fs.NArg() > 0 {
			return nil, usageError{fmt.Errorf("one job file at most, got %s and %s", jobFile, strings.Join(fs.Args(), " "))}
		}
	}
	o := &options{repeat: *repeat, format: *format, output: *output, plot: *plot, parseOnly: *parseOnly, cpuprofile: *cpuprofile}
	if err := o.checkOwnFlags(); err != nil {
		return nil, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	jobs, fileEngines, err := buildJobs(jobFile, settings, set, *prealloc, &o.mixed, *submissions)
	if err != nil {
		return nil, err
	}
	names := *compare
	switch {
	case *ioengine != "":
		names = *ioengine
	case names == "" && len(fileEngines) > 0:
		names = "aio," + strings.Join(fileEngines, ",")
	case names == "":
		names = "aio,psync"
	}
	dropAIO := *compare == "" && *ioengine == "" && buffered(jobs)
	if dropAIO {
		// The aio engine does direct I/O only: page-cache jobs compare
		// the pread/pwrite baseline and the job file's engines.
		names = "psync," + strings.TrimPrefix(strings.TrimPrefix(names, "aio,"), "psync")
	}
	if o.mixed > 0 && set["runtime"] {
		o.mixedRuntime = jobs[0].Runtime
	}
	if o.mixed > 0 && set["size"] {
		o.mixedSize = jobs[0].Size
	}
	if o.engines, err = enginesOf(strings.Trim(names, ","), *ioUring, o.mixed > 0); err != nil {
		return nil, err
	}
	if dropAIO {
		fmt.Fprintf(stderr, "iobench: the jobs use the page cache (direct=0), which the aio engine does not: comparing %s\n", engineList(o.engines))
	}
	if err := o.placeFiles(jobs); err != nil {
		return nil, err
	}
	if err := finishJobs(jobs, o); err != nil {
		o.cleanup()
		return nil, err
	}
	o.jobs = jobs
	if o.plot != "" { // IOPS samples: about 100 over a run, 100 ms to 1 s apart
		bench.SeriesStep = min(max(jobs[0].Runtime/100, 100*time.Millisecond), time.Second)
	}
	o.status = o.format == "normal" && o.output == "" && isTerminal(os.Stdout)
	return o, nil
}

func (o *options) checkOwnFlags() error {
	switch o.format {
	case "normal", "json", "json+", "markdown":
	default:
		return usageError{fmt.Errorf("--output-format %q: want normal, json, json+ or markdown", o.format)}
	}
	if o.repeat < 1 {
		return usageError{errors.New("--repeat must be at least 1")}
	}
	if o.plot != "" && !strings.HasSuffix(o.plot, ".svg") && !strings.HasSuffix(o.plot, ".png") {
		return usageError{fmt.Errorf("--plot %s: the name must end in .svg or .png", o.plot)}
	}
	return nil
}

// buildJobs makes the jobs: the job file's, or the command line's one,
// with the command line's job options applied to each in order. It
// returns the engines the job file's ioengine options name.
func buildJobs(jobFile string, settings []jobSetting, set map[string]bool, prealloc bool, mixed *int, submissions int) ([]bench.Job, []string, error) {
	jobs := []bench.Job{bench.DefaultJob()}
	if jobFile != "" {
		var err error
		if jobs, err = bench.ReadJobFile(jobFile); err != nil {
			return nil, nil, usageError{err}
		}
	}
	for i := range jobs {
		j := &jobs[i]
		for _, s := range settings {
			if s.name == "rw" && s.value == "mixed" {
				*mixed = submissions
				continue
			}
			if err := bench.ApplyOption(j, s.name, s.value); err != nil {
				return nil, nil, usageError{fmt.Errorf("--%s=%s: %w", s.name, s.value, err)}
			}
		}
		if set["prealloc"] {
			j.Prealloc = prealloc
		}
		if jobFile == "" {
			// The command line's job: an io_size without --time_based
			// bounds it by bytes, as fio's.
			if set["io_size"] && !set["time_based"] {
				j.TimeBased = false
			}
			if !set["name"] {
				j.Name = fmt.Sprintf("%s-%s-qd%d", j.RW, sizeName(j.BS), j.IODepth)
				if j.Prealloc {
					j.Name += "-prealloc"
				}
			}
		}
	}
	var engines []string
	seen := map[string]bool{}
	for _, j := range jobs {
		if e := j.IOEngine; e != "" && !seen[e] {
			seen[e] = true
			engines = append(engines, e)
		}
	}
	return jobs, engines, nil
}

func engineList(es []bench.Engine) string {
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return strings.Join(names, ", ")
}

// buffered reports whether a job uses the page cache.
func buffered(jobs []bench.Job) bool {
	for _, j := range jobs {
		if !j.Direct {
			return true
		}
	}
	return false
}

// sizeName writes a block size as the default job's name has it: 4k, 1m.
func sizeName(n int64) string {
	switch {
	case n%(1<<20) == 0:
		return fmt.Sprintf("%dm", n>>20)
	case n%(1<<10) == 0:
		return fmt.Sprintf("%dk", n>>10)
	}
	return fmt.Sprint(n)
}

// enginesOf maps a list of engine names, iobench's or fio's ioengine
// names, to the engines: io_uring is fio's engine, or with --io_uring=ring
// the bare ring; libaio and posixaio are fio with that engine; sync,
// psync, pvsync, pvsync2 are psync.
func enginesOf(names, ioUring string, mixed bool) ([]bench.Engine, error) {
	if ioUring != "fio" && ioUring != "ring" {
		return nil, usageError{fmt.Errorf("--io_uring=%s: want fio or ring", ioUring)}
	}
	var out []bench.Engine
	seen := map[string]bool{}
	for _, name := range strings.Split(names, ",") {
		name = strings.TrimSpace(name)
		var e bench.Engine
		switch name {
		case "io_uring":
			e, _ = bench.EngineByName(ioUring)
		case "libaio", "posixaio":
			e = bench.FioEngine{IOEngine: name}
		case "sync", "pvsync", "pvsync2":
			e = bench.PsyncEngine{}
		default:
			var err error
			if e, err = bench.EngineByName(name); err != nil {
				return nil, usageError{err}
			}
		}
		if seen[e.Name()] {
			continue
		}
		seen[e.Name()] = true
		if mixed && e.Name() != "aio" && e.Name() != "ring" {
			return nil, usageError{fmt.Errorf("--rw=mixed runs on the aio and ring engines, not %s", e.Name())}
		}
		out = append(out, e)
	}
	return out, nil
}

// finishJobs takes sizes from existing files, checks each job, and
// refuses what would run with another meaning than the user's.
func finishJobs(jobs []bench.Job, o *options) error {
	if o.mixed > 0 {
		return nil
	}
	for i := range jobs {
		j := &jobs[i]
		if err := j.ResolveSize(); err != nil {
			return usageError{err}
		}
		if err := j.Validate(); err != nil {
			return usageError{fmt.Errorf("job %s: %w", j.Name, err)}
		}
	}
	return usageErrorOf(checkJobs(jobs, o.engines))
}

func usageErrorOf(err error) error {
	if err == nil {
		return nil
	}
	return usageError{err}
}

// checkJobs refuses, by name, what would run with another meaning than
// the user's: page-cache I/O on the aio engine (it does direct I/O only,
// and would run O_DIRECT beside psync's page cache), and a device path
// that does not exist (iobench would benchmark a new plain file in
// devtmpfs instead of the device).
func checkJobs(jobs []bench.Job, engines []bench.Engine) error {
	for _, j := range jobs {
		for _, e := range engines {
			if !j.Direct && strings.HasPrefix(e.Name(), "aio") {
				return fmt.Errorf("job %s: direct=0: the aio engine does direct I/O only; compare page-cache I/O with --compare=psync,fio", j.Name)
			}
		}
		for _, f := range j.Files(0) {
			if strings.HasPrefix(f.Path, "/dev/") {
				if _, err := os.Stat(f.Path); err != nil {
					return fmt.Errorf("job %s: %s: %w (iobench would make a plain file in /dev rather than benchmark a device)", j.Name, f.Path, err)
				}
			}
		}
	}
	return nil
}
