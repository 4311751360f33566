// Command iobench is an fio-like benchmark that compares nowait's aio
// runtime with the pread/pwrite baseline, the bare ring and fio itself,
// side by side, on your own hardware.
//
//	iobench                              # the default job: aio vs psync
//	iobench --rw=append --iodepth=16 --compare=aio,ring,fio
//	iobench --verify=xxhash --rw=randrw  # every block checked on read
//	iobench job.fio                      # the jobs of a fio job file
//	iobench --parse-only job.fio         # how iobench reads it; runs nothing
//	iobench --rw=mixed --compare=aio,ring  # submission latency under a mix
//
// With no arguments it runs 4 KiB random reads at queue depth 32 on a 1 GiB
// file in the system temp directory (created, filled and removed), 10 s per
// engine, aio then psync. Job options are fio's, on the command line as in
// a job file. Exit status: 0 done, 1 a failure (an I/O error, a verify
// mismatch), 2 a usage error, 128+N after signal N (the results so far
// are printed).
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
	"strings"
	"sync/atomic"
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
	code := 0
	if err == nil {
		code, err = execute(opts, stdout, stderr)
	}
	if err == nil {
		return code
	}
	fmt.Fprintf(stderr, "iobench: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFail
}

// placeFiles puts the files of jobs with neither a filename nor a
// directory in a new directory in the system temp directory, removed at
// the end (fio would put them in the current directory). --parse-only
// makes no directory: it names the one it would make.
func (o *options) placeFiles(jobs []bench.Job) error {
	for i := range jobs {
		if jobs[i].Filename != "" || jobs[i].Directory != "" {
			continue
		}
		if o.tempDir == "" && o.parseOnly {
			jobs[i].Directory = filepath.Join(os.TempDir(), "iobenchNNN")
			continue
		}
		if o.tempDir == "" {
			dir, err := os.MkdirTemp("", "iobench")
			if err != nil {
				return err
			}
			o.tempDir = dir
		}
		jobs[i].Directory = o.tempDir
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

// stopOnSignal makes Ctrl-C and SIGTERM end the run early: the run in
// progress stops issuing, and what was measured so far is printed; a
// second signal exits at once. Either way the temp directory is removed
// and iobench exits 128+signal, as a shell reports it.
func stopOnSignal(o *options, stderr io.Writer) (code func() int) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	var got atomic.Int32
	go func() {
		s := <-sigs
		got.Store(int32(s.(syscall.Signal)))
		fmt.Fprintf(stderr, "\niobench: %v: stopping; the results so far follow (again to quit now)\n", s)
		bench.Interrupt()
		s = <-sigs
		fmt.Fprintf(stderr, "iobench: %v: stopped before the results", s)
		if o.tempDir != "" {
			fmt.Fprintf(stderr, "; removed %s", o.tempDir)
		}
		fmt.Fprintln(stderr)
		o.cleanup()
		os.Exit(128 + int(s.(syscall.Signal)))
	}()
	return func() int {
		if n := got.Load(); n != 0 {
			return 128 + int(n)
		}
		return 0
	}
}

// execute runs the jobs and writes their results. Its exit code is
// 128+signal when a signal cut the run short.
func execute(o *options, stdout, stderr io.Writer) (int, error) {
	defer o.cleanup()
	sigCode := stopOnSignal(o, stderr)
	if o.parseOnly {
		return 0, printJobs(o, stdout)
	}
	out := stdout
	if o.output != "" {
		f, err := os.Create(o.output)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		out = f
	}
	if o.cpuprofile != "" {
		pf, err := os.Create(o.cpuprofile)
		if err != nil {
			return 0, err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return 0, err
		}
		defer pprof.StopCPUProfile()
	}
	if o.mixed > 0 {
		return sigCode(), o.runMixed(out, stdout)
	}
	if o.format == "normal" {
		for _, j := range o.jobs {
			fmt.Fprintf(out, "job %s: %s\n", j.Name, j.Summary())
		}
	}
	runner := &bench.Runner{Engines: o.engines, Repeat: o.repeat,
		Notice: func(msg string) { fmt.Fprintf(stderr, "iobench: %s\n", msg) }}
	stop := o.startStatus(stdout)
	all, err := runner.Run(o.jobs)
	stop()
	o.tellLeft(runner, stderr)
	if errors.Is(err, bench.ErrNoFio) {
		return 0, usageError{err}
	}
	if err != nil {
		return sigCode(), err
	}
	if err := o.write(out, all); err != nil {
		return sigCode(), err
	}
	if o.plot != "" {
		if err := bench.Plot(o.plot, o.jobs, all); err != nil {
			return sigCode(), err
		}
	}
	for _, rs := range all {
		for _, r := range rs {
			if r.VerifyErrs > 0 {
				return sigCode(), fmt.Errorf("%s on %s: %d blocks failed verification; the first: %s", r.Engine, r.Job, r.VerifyErrs, r.VerifyFirst)
			}
			if r.Failed {
				return sigCode(), fmt.Errorf("%s on %s: an I/O error ended the job (continue_on_error goes on): %s", r.Engine, r.Job, r.Note)
			}
		}
	}
	return sigCode(), nil
}

// tellLeft names the files iobench made outside its temp directory and
// leaves, as fio leaves its own (unlink=1 removes a job's).
func (o *options) tellLeft(r *bench.Runner, stderr io.Writer) {
	var left []string
	for _, p := range r.Created() {
		if _, err := os.Stat(p); err == nil && (o.tempDir == "" || !strings.HasPrefix(p, o.tempDir+"/")) {
			left = append(left, p)
		}
	}
	if len(left) > 0 {
		fmt.Fprintf(stderr, "iobench: left the %d files it made, as fio does (unlink=1 removes them): %s\n", len(left), strings.Join(left, " "))
	}
}

// write prints every job's results in the chosen format.
func (o *options) write(out io.Writer, all [][]bench.Result) error {
	if o.format == "json" || o.format == "json+" {
		return bench.WriteFioJSON(out, o.jobs, all, o.format == "json+")
	}
	for i, rs := range all {
		if len(rs) == 0 {
			continue // not run (interrupted)
		}
		var err error
		if o.format == "markdown" {
			err = bench.WriteMarkdown(out, o.jobs[i].Name, rs)
		} else {
			if len(o.jobs) > 1 {
				fmt.Fprintf(out, "job %s:\n", o.jobs[i].Name)
			}
			err = bench.WriteTable(out, rs)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// printJobs is --parse-only: each job as iobench understood it, by group,
// and the engines; nothing runs and no file is made.
func printJobs(o *options, w io.Writer) error {
	groups := bench.Groups(o.jobs)
	for g, idx := range groups {
		fmt.Fprintf(w, "group %d (at once):\n", g)
		for _, i := range idx {
			j := o.jobs[i]
			fmt.Fprintf(w, "  job %s: %s\n", j.Name, j.Summary())
			if j.Description != "" {
				fmt.Fprintf(w, "    %s\n", j.Description)
			}
		}
	}
	fmt.Fprintf(w, "engines: %s\n", engineList(o.engines))
	return nil
}

func (o *options) runMixed(out, status io.Writer) error {
	if o.format == "normal" {
		fmt.Fprintf(out, "job mixed: queue depth 64: 4 KiB appends, 512-byte writes into a fallocate'd file, 4 KiB random reads, an fdatasync every 1000 writes; %d timed submissions of %s\n", o.mixed, batchWords(o.jobs[0].BatchSubmit))
	}
	dir := filepath.Dir(o.jobs[0].Files(0)[0].Path) // beside --filename, or in the temp directory
	m := bench.DefaultMixedJob(dir)
	m.Submissions, m.Runtime = o.mixed, o.mixedRuntime
	m.BatchSubmit, m.BatchCompleteMax = o.jobs[0].BatchSubmit, o.jobs[0].BatchCompleteMax
	if o.mixedSize > 0 {
		m.ReadSize = o.mixedSize
	}
	defer bench.RemoveMixedFiles(dir)
	var rs []bench.Result
	for _, e := range o.engines {
		stop := o.startStatus(status)
		r, err := bench.RunMixed(m, e.Name())
		stop()
		if err != nil {
			return err
		}
		rs = append(rs, r)
		if bench.Interrupted() {
			break
		}
	}
	if o.format == "markdown" {
		return bench.WriteMarkdown(out, "mixed-qd64", rs)
	}
	if o.format == "json" || o.format == "json+" {
		return bench.WriteFioJSON(out, []bench.Job{{Name: "mixed-qd64", RW: "mixed"}}, [][]bench.Result{rs}, o.format == "json+")
	}
	return bench.WriteTable(out, rs)
}

// batchWords says what one submission of the mixed job carries.
func batchWords(n int) string {
	switch n {
	case 0:
		return "every I/O ready (iodepth_batch_submit=0)"
	case 1:
		return "one I/O each (iodepth_batch_submit=1, fio's default)"
	}
	return fmt.Sprintf("up to %d I/Os (iodepth_batch_submit=%d)", n, n)
}

// startStatus prints a status line (the layout's progress, or the
// engine, percent done, IOPS, time left) twice a second while a run goes
// on, when stdout is a terminal.
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
				if frac, ok := bench.LayoutStatus(); ok {
					fmt.Fprintf(w, "\r\033[Klaying out the file %3.0f%%", frac*100)
				} else if engine, frac, iops, left, ok := bench.LiveStatus(); ok {
					fmt.Fprintf(w, "\r\033[K%-6s %3.0f%%  %8.0f IOPS  %v left", engine, frac*100, iops, left.Round(time.Second))
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}
