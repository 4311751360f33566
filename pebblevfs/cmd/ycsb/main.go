// Command ycsb measures pebble on nowait against pebble on vfs.Default,
// in one run, with YCSB's core workloads: a fill, then A (50% reads, 50%
// updates) and C (reads only), the same block cache for both, keys drawn
// from a Zipf distribution as YCSB draws them. For each it prints ops/s,
// latency percentiles, CPU per operation and the page cache the phase
// caused (/proc/meminfo's Cached, after minus before).
//
//	go run ./cmd/ycsb                        # from the pebblevfs directory
//	go run ./cmd/ycsb --keys=1000000 --duration=30s --dir=/mnt/scratch
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/nowaitio/nowait/aio"
	"github.com/nowaitio/nowait/pebblevfs"
	"github.com/nowaitio/nowait/pebblevfs/internal/quietlog"
)

type config struct {
	dir            string
	keys, valueLen int
	threads        int
	duration       time.Duration
	cache          int64
	fs             []string
	zipf           float64
	stats          bool
}

func main() {
	var c config
	var fsList string
	flag.StringVar(&c.dir, "dir", os.TempDir(), "directory for the databases (each removed after its run)")
	flag.IntVar(&c.keys, "keys", 200_000, "keys the fill writes")
	flag.IntVar(&c.valueLen, "value", 1000, "value size in bytes")
	flag.IntVar(&c.threads, "threads", 8, "goroutines running the workload")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "time per workload")
	flag.Int64Var(&c.cache, "cache", 16<<20, "pebble block cache bytes, the same for every FS")
	flag.StringVar(&fsList, "fs", "nowait,default", "file systems to compare: nowait, default")
	flag.Float64Var(&c.zipf, "zipf", 1.1, "Zipf exponent s of the key choice (> 1; YCSB's skew is near 1)")
	flag.BoolVar(&c.stats, "stats", false, "print what the runtime did in each phase on nowait (aio.Stats)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "ycsb:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	c.fs = strings.Split(fsList, ",")
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "ycsb:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(c config) error {
	if c.zipf <= 1 {
		return fmt.Errorf("--zipf=%g: the exponent must be above 1", c.zipf)
	}
	if c.keys < 1 || c.valueLen < 1 || c.threads < 1 {
		return fmt.Errorf("--keys, --value and --threads must be at least 1")
	}
	fmt.Printf("ycsb: %d keys of %d-byte values, %d goroutines, %v per workload, %d MiB block cache, zipf s=%g, in %s\n",
		c.keys, c.valueLen, c.threads, c.duration, c.cache>>20, c.zipf, c.dir)
	fmt.Printf("%-8s %-5s %10s %9s %9s %9s %10s %12s\n", "fs", "phase", "ops/s", "p50 us", "p99 us", "p99.9 us", "CPU us/op", "page cache")
	for _, name := range c.fs {
		if err := runFS(c, name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// runFS fills a fresh database on the named FS and runs the workloads.
func runFS(c config, name string) error {
	var fs vfs.FS
	var rt *aio.Runtime
	switch name {
	case "default":
		fs = vfs.Default
	case "nowait":
		var err error
		if rt, err = aio.New(aio.Config{}); err != nil {
			return err
		}
		defer rt.Close()
		fs = pebblevfs.New(rt)
	default:
		return fmt.Errorf("unknown --fs %q (nowait, default)", name)
	}
	dir, err := os.MkdirTemp(c.dir, "ycsb-"+name+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cache := pebble.NewCache(c.cache)
	defer cache.Unref()
	db, err := pebble.Open(filepath.Join(dir, "db"), &pebble.Options{FS: fs, Cache: cache, Logger: quietlog.Logger{}})
	if err != nil {
		return err
	}
	defer db.Close()
	for _, ph := range []phase{fillPhase, workloadA, workloadC} {
		dropCache(dir) // what the page cache held from the phase before is not this phase's
		var st0 aio.Stats
		if rt != nil {
			st0 = rt.Stats()
		}
		r, err := measure(c, db, ph)
		if err != nil {
			return fmt.Errorf("%s: %w", ph.name, err)
		}
		r.print(name, ph.name)
		if c.stats && rt != nil {
			st := rt.Stats()
			fmt.Printf("         writes: %d fast, %d slow (%d edge units read or zeroed); reads: %d fast, %d slow; %d syncs\n",
				st.FastWrites-st0.FastWrites, st.SlowWrites-st0.SlowWrites, st.RMW-st0.RMW,
				st.FastReads-st0.FastReads, st.SlowReads-st0.SlowReads, st.Syncs-st0.Syncs)
		}
	}
	return nil
}
