// Command iobench is an fio-like benchmark that compares nowait's aio
// runtime with the pread/pwrite baseline, the bare ring and fio itself,
// side by side, on your own hardware.
//
//	iobench                              # the default job: aio vs psync
//	iobench --rw=append --iodepth=16 --compare=aio,ring,fio
//	iobench --verify=xxhash --rw=randrw  # every block checked on read
//	iobench job.fio                      # the jobs of a fio job file
//	iobench --rw=mixed --compare=aio,ring  # submission latency under a mix
//
// With no arguments it runs 4 KiB random reads at queue depth 32 on a 1 GiB
// file in the system temp directory (created, filled and removed), 10 s per
// engine, aio then psync. Flags are named as fio names them. Exit status: 0
// done, 1 a failure (an I/O error, a verify mismatch), 2 a usage error.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/bench"
)

const (
	exitFail  = 1
	exitUsage = 2
)

type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	opts, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err == nil {
		err = execute(opts, stdout, stderr)
	}
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "iobench: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFail
}

type options struct {
	jobs       []bench.Job
	engines    []bench.Engine
	repeat     int
	format     string
	tempDir    string // the default file's directory, removed at the end
	cpuprofile string
	status     bool // a live status line (stdout is a terminal)
}

func parseArgs(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("iobench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: iobench [flags] [job.fio]\n\nAn fio-like benchmark comparing nowait's aio runtime with the pread/pwrite\nbaseline (psync), the bare ring and fio. Flags as fio names them:\n\n")
		fs.PrintDefaults()
	}
	def := bench.DefaultJob()
	rw := fs.String("rw", string(def.RW), "read, write, randread, randwrite, randrw, append, or mixed (the submission-latency mix)")
	bs := fs.String("bs", "4k", "block size (4096, 4k, 1M)")
	iodepth := fs.Int("iodepth", def.IODepth, "I/Os in flight per job")
	numjobs := fs.Int("numjobs", def.NumJobs, "jobs running at once")
	size := fs.String("size", "1g", "file size (append: how far the file may grow)")
	runtimeS := fs.String("runtime", "10s", "measured time per engine and repeat")
	ramp := fs.String("ramp_time", "0", "time run before measuring")
	direct := fs.Int("direct", 1, "1: O_DIRECT, 0: page cache")
	filename := fs.String("filename", "", "the file (default: a new file in the system temp directory, removed at the end)")
	ioengine := fs.String("ioengine", "", "run one engine: aio, psync, ring or fio")
	compare := fs.String("compare", "aio,psync", "engines to run in turn; ratios are to the first")
	repeat := fs.Int("repeat", 1, "interleaved repeats per engine; the median run is reported")
	rwmix := fs.Int("rwmixread", 50, "randrw: percent of reads")
	dist := fs.String("random_distribution", "random", "random or zipf:THETA")
	fsync := fs.Int("fdatasync", 0, "every Nth write slot is an fdatasync ordered after earlier writes (fio: an fdatasync after every N writes)")
	fullSync := fs.Int("fsync", 0, "as --fdatasync, with fsync (fio's fsync=N)")
	timeBased := fs.Bool("time_based", true, "run for --runtime whatever the size; false: one pass over --size per job (or --io_size), ended early only by --runtime, as fio without time_based")
	bssplit := fs.String("bssplit", "", "mixed block sizes by weight, as fio writes them: 4k/50:64k/50")
	ioSize := fs.String("io_size", "0", "end a run once this many bytes were issued (0: only the runtime ends it)")
	prealloc := fs.Bool("prealloc", false, "start each run from a new fallocate'd file that was never written (unwritten space)")
	verify := fs.String("verify", "", "xxhash: a header and checksum in every written block, checked on every read")
	format := fs.String("output-format", "normal", "normal, json or json+ (fio 3.x's schema, iobench's own figures under \"nowait\"), or markdown")
	submissions := fs.Int("submissions", 200000, "--rw=mixed: timed Submit calls")
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
	o := &options{repeat: *repeat, format: *format, cpuprofile: *cpuprofile}
	switch o.format {
	case "normal", "json", "json+", "markdown":
	default:
		return nil, usageError{fmt.Errorf("--output-format %q: want normal, json, json+ or markdown", o.format)}
	}
	if o.repeat < 1 {
		return nil, usageError{errors.New("--repeat must be at least 1")}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	// The jobs: from a job file, or the default job; explicit flags win.
	jobs := []bench.Job{def}
	if jobFile != "" {
		jf, err := os.Open(jobFile)
		if err != nil {
			return nil, usageError{fmt.Errorf("job file: %w", err)}
		}
		jobs, err = bench.ParseJobFile(jf)
		jf.Close()
		if err != nil {
			return nil, usageError{err}
		}
	}
	mixed := *rw == "mixed"
	for i := range jobs {
		j := &jobs[i]
		apply := func(name string, f func() error) error {
			if !set[name] && jobFile != "" {
				return nil // the job file's value stands
			}
			if err := f(); err != nil {
				return usageError{fmt.Errorf("--%s: %w", name, err)}
			}
			return nil
		}
		var err error
		for _, step := range []struct {
			name string
			f    func() error
		}{
			{"rw", func() error {
				if !mixed {
					j.RW = bench.RW(*rw)
				}
				return nil
			}},
			{"bs", func() (e error) { j.BS, e = bench.ParseSize(*bs); return }},
			{"size", func() (e error) { j.Size, e = bench.ParseSize(*size); return }},
			{"runtime", func() (e error) { j.Runtime, e = bench.ParseDuration(*runtimeS); return }},
			{"time_based", func() error { j.TimeBased = *timeBased; return nil }},
			{"ramp_time", func() (e error) { j.Ramp, e = bench.ParseDuration(*ramp); return }},
			{"iodepth", func() error { j.IODepth = *iodepth; return nil }},
			{"numjobs", func() error { j.NumJobs = *numjobs; return nil }},
			{"rwmixread", func() error { j.RWMixRead = *rwmix; return nil }},
			{"fdatasync", func() error { j.FsyncN, j.SyncFull = *fsync, false; return nil }},
			{"fsync", func() error {
				if !set["fsync"] {
					return nil // --fdatasync's (or the job file's) stands
				}
				if set["fdatasync"] {
					return errors.New("--fsync and --fdatasync both given: a job runs one kind of sync")
				}
				j.FsyncN, j.SyncFull = *fullSync, true
				return nil
			}},
			{"verify", func() error { j.Verify = *verify; return nil }},
			{"prealloc", func() error { j.Prealloc = *prealloc; return nil }},
			{"io_size", func() (e error) { j.TotalBytes, e = bench.ParseSize(*ioSize); return }},
			{"bssplit", func() error {
				if *bssplit == "" {
					j.BSSplit = nil
					return nil
				}
				parts, err := bench.ParseBSSplit(*bssplit)
				if err != nil {
					return err
				}
				j.BSSplit, j.BS = parts, 0
				for _, p := range parts {
					j.BS = max(j.BS, p.Size)
				}
				return nil
			}},
			{"filename", func() error {
				if *filename != "" {
					j.Filename = *filename
				}
				return nil
			}},
			{"direct", func() error {
				if *direct != 0 && *direct != 1 {
					return fmt.Errorf("must be 0 or 1, not %d", *direct)
				}
				j.Direct = *direct == 1
				return nil
			}},
			{"random_distribution", func() error { return parseDist(j, *dist) }},
		} {
			if err = apply(step.name, step.f); err != nil {
				return nil, err
			}
		}
		if !j.TimeBased && j.TotalBytes == 0 {
			j.TotalBytes = j.Size * int64(j.NumJobs) // one pass over the size per job, as fio
		}
		if jobFile == "" {
			j.Name = fmt.Sprintf("%s-%s-qd%d", *rw, *bs, j.IODepth)
			if j.Prealloc {
				j.Name += "-prealloc"
			}
		}
	}
	names := *compare
	if *ioengine != "" {
		names = *ioengine
	}
	for _, name := range strings.Split(names, ",") {
		e, err := bench.EngineByName(strings.TrimSpace(name))
		if err != nil {
			return nil, usageError{err}
		}
		if mixed && e.Name() != "aio" && e.Name() != "ring" {
			return nil, usageError{fmt.Errorf("--rw=mixed runs on the aio and ring engines, not %s", e.Name())}
		}
		o.engines = append(o.engines, e)
	}
	if err := checkJobs(jobs, o.engines); err != nil {
		return nil, usageError{err}
	}
	if err := o.placeFiles(jobs); err != nil {
		return nil, err
	}
	for i := range jobs {
		if mixed {
			jobs[i].RW, jobs[i].Name = "mixed", "mixed-qd64"
			continue
		}
		if err := jobs[i].Validate(); err != nil {
			o.cleanup()
			return nil, usageError{fmt.Errorf("job %s: %w", jobs[i].Name, err)}
		}
	}
	o.jobs = jobs
	o.status = o.format == "normal" && isTerminal(os.Stdout)
	if mixed {
		o.jobs[0].Size = int64(*submissions) // carried to the mixed job below
	}
	return o, nil
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
		if strings.HasPrefix(j.Filename, "/dev/") {
			if _, err := os.Stat(j.Filename); err != nil {
				return fmt.Errorf("job %s: %s: %w (iobench would make a plain file in /dev rather than benchmark a device)", j.Name, j.Filename, err)
			}
		}
	}
	return nil
}

func parseDist(j *bench.Job, dist string) error {
	if dist == "random" {
		j.ZipfTheta = 0
		return nil
	}
	theta, ok := strings.CutPrefix(dist, "zipf:")
	v, err := strconv.ParseFloat(theta, 64)
	if !ok || err != nil || v <= 0 {
		return fmt.Errorf("%q: want random or zipf:THETA with THETA > 0", dist)
	}
	j.ZipfTheta = v
	return nil
}

// placeFiles gives jobs without a filename a new file in the system temp
// directory, removed at the end.
func (o *options) placeFiles(jobs []bench.Job) error {
	for i := range jobs {
		if jobs[i].Filename != "" {
			continue
		}
		if o.tempDir == "" {
			dir, err := os.MkdirTemp("", "iobench")
			if err != nil {
				return err
			}
			o.tempDir = dir
		}
		jobs[i].Filename = filepath.Join(o.tempDir, fmt.Sprintf("iobench-%d.dat", i))
	}
	return nil
}

func (o *options) cleanup() {
	if o.tempDir != "" {
		os.RemoveAll(o.tempDir)
	}
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// stopOnSignal makes Ctrl-C and SIGTERM end the run with a word and
// without leaving the default 1 GiB file behind: the temp directory is
// removed and iobench exits 128+signal, as a shell reports it.
func stopOnSignal(o *options, stderr io.Writer) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		fmt.Fprintf(stderr, "\niobench: %v: stopped before the results", s)
		if o.tempDir != "" {
			fmt.Fprintf(stderr, "; removed %s", o.tempDir)
		}
		fmt.Fprintln(stderr)
		o.cleanup()
		os.Exit(128 + int(s.(syscall.Signal)))
	}()
}

func execute(o *options, stdout, stderr io.Writer) error {
	defer o.cleanup()
	stopOnSignal(o, stderr)
	if o.cpuprofile != "" {
		pf, err := os.Create(o.cpuprofile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var all [][]bench.Result
	for _, j := range o.jobs {
		results, err := o.runJob(j, stdout)
		if errors.Is(err, bench.ErrNoFio) {
			return usageError{err}
		}
		if err != nil {
			return err
		}
		all = append(all, results)
	}
	if o.format == "json" || o.format == "json+" {
		if err := bench.WriteFioJSON(stdout, o.jobs, all, o.format == "json+"); err != nil {
			return err
		}
	}
	for _, rs := range all {
		for _, r := range rs {
			if r.VerifyErrs > 0 {
				return fmt.Errorf("%s on %s: %d blocks failed verification; the first: %s", r.Engine, r.Job, r.VerifyErrs, r.VerifyFirst)
			}
		}
	}
	return nil
}

func (o *options) runJob(j bench.Job, stdout io.Writer) ([]bench.Result, error) {
	if o.format == "normal" {
		if j.RW == "mixed" {
			fmt.Fprintf(stdout, "job mixed: queue depth 64: 4 KiB appends, 512-byte writes into a fallocate'd file, 4 KiB random reads, an fdatasync every 1000 writes; %d timed submissions\n", j.Size)
		} else {
			fmt.Fprintf(stdout, "job %s: rw=%s bs=%d iodepth=%d numjobs=%d size=%d runtime=%v direct=%v prealloc=%v verify=%q file=%s\n",
				j.Name, j.RW, j.BS, j.IODepth, j.NumJobs, j.Size, j.Runtime, j.Direct, j.Prealloc, j.Verify, j.Filename)
		}
	}
	stop := o.startStatus(stdout)
	var results []bench.Result
	var err error
	if j.RW == "mixed" {
		results, err = runMixed(j, o.engines)
	} else {
		results, err = bench.Compare(j, o.engines, o.repeat, nil)
	}
	stop()
	if err != nil {
		return nil, err
	}
	switch o.format {
	case "normal":
		err = bench.WriteTable(stdout, results)
	case "markdown":
		err = bench.WriteMarkdown(stdout, j.Name, results)
	}
	return results, err
}

func runMixed(j bench.Job, engines []bench.Engine) ([]bench.Result, error) {
	m := bench.DefaultMixedJob(filepath.Dir(j.Filename))
	m.Submissions = int(j.Size)
	var out []bench.Result
	for _, e := range engines {
		r, err := bench.RunMixed(m, e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// startStatus prints a status line (engine, percent done, IOPS, time
// left) twice a second while a run goes on, when stdout is a terminal.
func (o *options) startStatus(w io.Writer) (stop func()) {
	if !o.status {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-t.C:
				if engine, frac, iops, left, ok := bench.LiveStatus(); ok {
					fmt.Fprintf(w, "\r\033[K%-6s %3.0f%%  %8.0f IOPS  %v left", engine, frac*100, iops, left.Round(time.Second))
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}
