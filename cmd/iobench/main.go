// Command iobench is an fio-like benchmark that compares nowait's aio
// runtime with the pread/pwrite baseline, the bare ring and fio itself,
// side by side, on your own hardware.
//
// With no arguments it runs the default job: 4 KiB random reads at queue
// depth 32 on a 1 GiB file in the system temp directory (created, filled
// and removed), comparing aio with psync. Flags are named as fio names them.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/nowaitio/nowait/bench"
)

// Exit statuses: 2 for usage errors, 1 for failures.
const (
	exitFail  = 1
	exitUsage = 2
)

type usageError struct{ error }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	opts, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "iobench: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) {
			return exitUsage
		}
		return exitFail
	}
	if err := execute(opts, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "iobench: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) {
			return exitUsage
		}
		return exitFail
	}
	return 0
}

type options struct {
	job        bench.Job
	engines    []bench.Engine
	repeat     int
	json       bool
	tempDir    string // the default file's directory, removed at the end
	cpuprofile string
}

func parseArgs(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("iobench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := bench.DefaultJob()
	rw := fs.String("rw", string(def.RW), "read, write, randread, randwrite, randrw or append")
	bs := fs.String("bs", "4k", "block size (4096, 4k, 1M)")
	iodepth := fs.Int("iodepth", def.IODepth, "I/Os in flight per job")
	numjobs := fs.Int("numjobs", def.NumJobs, "jobs running at once")
	size := fs.String("size", "1g", "file size")
	runtimeS := fs.String("runtime", "10s", "measured time per engine and repeat")
	ramp := fs.String("ramp_time", "0", "time run before measuring")
	direct := fs.Int("direct", 1, "1: O_DIRECT, 0: page cache")
	filename := fs.String("filename", "", "the file (default: a new file in the system temp directory, removed at the end)")
	ioengine := fs.String("ioengine", "", "one engine: aio, psync, ring or fio (like --compare with one name)")
	compare := fs.String("compare", "aio,psync", "engines to run in turn, the first is the base of the ratios")
	repeat := fs.Int("repeat", 1, "interleaved repeats per engine; the median run is reported")
	rwmix := fs.Int("rwmixread", 50, "randrw: percent of reads")
	dist := fs.String("random_distribution", "random", "random or zipf:THETA")
	fsync := fs.Int("fdatasync", 0, "an fdatasync after every N writes")
	format := fs.String("output-format", "normal", "normal or json")
	cpuprofile := fs.String("cpuprofile", "", "write a Go CPU profile of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageError{err}
	}
	if fs.NArg() > 0 {
		return nil, usageError{fmt.Errorf("unexpected argument %q (job files come later; use flags)", fs.Arg(0))}
	}
	o := &options{job: def, repeat: *repeat, cpuprofile: *cpuprofile}
	j := &o.job
	j.RW = bench.RW(*rw)
	var err error
	if j.BS, err = bench.ParseSize(*bs); err != nil {
		return nil, usageError{fmt.Errorf("--bs: %w", err)}
	}
	if j.Size, err = bench.ParseSize(*size); err != nil {
		return nil, usageError{fmt.Errorf("--size: %w", err)}
	}
	if j.Runtime, err = bench.ParseDuration(*runtimeS); err != nil {
		return nil, usageError{fmt.Errorf("--runtime: %w", err)}
	}
	if j.Ramp, err = bench.ParseDuration(*ramp); err != nil {
		return nil, usageError{fmt.Errorf("--ramp_time: %w", err)}
	}
	j.IODepth, j.NumJobs, j.RWMixRead, j.FsyncN = *iodepth, *numjobs, *rwmix, *fsync
	switch *direct {
	case 0, 1:
		j.Direct = *direct == 1
	default:
		return nil, usageError{fmt.Errorf("--direct must be 0 or 1, not %d", *direct)}
	}
	if *dist != "random" {
		theta, ok := strings.CutPrefix(*dist, "zipf:")
		v, err := strconv.ParseFloat(theta, 64)
		if !ok || err != nil || v <= 0 {
			return nil, usageError{fmt.Errorf("--random_distribution %q: want random or zipf:THETA with THETA > 0", *dist)}
		}
		j.ZipfTheta = v
	}
	switch *format {
	case "normal", "json":
		o.json = *format == "json"
	default:
		return nil, usageError{fmt.Errorf("--output-format %q: want normal or json", *format)}
	}
	if o.repeat < 1 {
		return nil, usageError{fmt.Errorf("--repeat must be at least 1")}
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
		o.engines = append(o.engines, e)
	}
	j.Name = fmt.Sprintf("%s-%s-qd%d", j.RW, *bs, j.IODepth)
	j.Filename = *filename
	if j.Filename == "" {
		dir, err := os.MkdirTemp("", "iobench")
		if err != nil {
			return nil, err
		}
		o.tempDir = dir
		j.Filename = filepath.Join(dir, "iobench.dat")
	}
	if err := j.Validate(); err != nil {
		o.cleanup()
		return nil, usageError{err}
	}
	return o, nil
}

func (o *options) cleanup() {
	if o.tempDir != "" {
		os.RemoveAll(o.tempDir)
	}
}

func execute(o *options, stdout, stderr io.Writer) error {
	defer o.cleanup()
	j := o.job
	if !o.json {
		fmt.Fprintf(stdout, "job %s: rw=%s bs=%d iodepth=%d numjobs=%d size=%d runtime=%v direct=%v file=%s\n",
			j.Name, j.RW, j.BS, j.IODepth, j.NumJobs, j.Size, j.Runtime, j.Direct, j.Filename)
	}
	progress := func(engine string, rep int) {
		if !o.json {
			fmt.Fprintf(stderr, "running %s (repeat %d of %d)...\n", engine, rep+1, o.repeat)
		}
	}
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
	results, err := bench.Compare(j, o.engines, o.repeat, progress)
	if errors.Is(err, bench.ErrNoFio) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	if o.json {
		return bench.WriteJSON(stdout, results)
	}
	return bench.WriteTable(stdout, results)
}
