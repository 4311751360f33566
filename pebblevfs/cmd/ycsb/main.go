// Command ycsb measures pebble on nowait against pebble on vfs.Default,
// in one run, with the same memory: a fill, YCSB's core workloads A-F
// and a phase of synced commits, one after another on one database per
// FS, as a database runs. Keys are drawn from a Zipf distribution as
// YCSB draws them. For each phase it prints ops/s, latency percentiles,
// CPU per operation and the most of the database's files the page cache
// held (mincore), then nowait's ratios to vfs.Default.
//
// The same memory: vfs.Default runs first, with --cache; nowait's memory
// is then --cache plus the most of vfs.Default's database files the page
// cache held in any phase (--same-memory=false: --cache for both). An FS
// named nowait/N gives N MiB of that memory to the data it wrote last
// (pebblevfs.Options.WrittenCache) and the rest to pebble's block cache.
// --stats, --wal-stats and --pebble-stats print, per phase, what the
// runtime did, how long the WAL's writes and syncs took, and pebble's
// write stalls, block cache hits, flushes and compactions (their kinds,
// bytes and time, and the levels' shape at the end). --repeat=N runs the
// whole comparison N times, one round after another, and prints the
// median of the rounds' ratios with their range: single runs here vary
// by 0.2x or more.
//
//	go run ./cmd/ycsb                        # from the pebblevfs directory
//	go run ./cmd/ycsb --duration=8s --repeat=3
//	go run ./cmd/ycsb --fs=default,nowait/64 --wal-stats
//	go run ./cmd/ycsb --phases=fill --keys=600000 --blockprofile=/tmp/block.pb  # go tool pprof -top
//	go run ./cmd/ycsb --phases=fill,sync --keys=1000000 --dir=/mnt/scratch
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
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
	sameMemory     bool
	fs             []string
	phases         []phase
	zipf           float64
	stats          bool
	walStats       bool
	pebbleStats    bool
	repeat         int
}

func main() {
	var c config
	var fsList, phaseList string
	flag.StringVar(&c.dir, "dir", os.TempDir(), "directory for the databases (each removed after its run)")
	flag.IntVar(&c.keys, "keys", 200_000, "keys the fill writes")
	flag.IntVar(&c.valueLen, "value", 1000, "value size in bytes")
	flag.IntVar(&c.threads, "threads", 8, "goroutines running the workload")
	flag.DurationVar(&c.duration, "duration", 10*time.Second, "time per workload")
	flag.Int64Var(&c.cache, "cache", 16<<20, "pebble block cache bytes on vfs.Default (and on nowait, plus the page cache vfs.Default's files held: --same-memory)")
	flag.BoolVar(&c.sameMemory, "same-memory", true, "give nowait's block cache the most of vfs.Default's files the page cache held")
	flag.StringVar(&fsList, "fs", "default,nowait,nowait/64", "file systems to compare, in this order: default, nowait, nowait/N (N MiB of nowait's memory keep the data it wrote last, the rest is block cache)")
	flag.StringVar(&phaseList, "phases", "fill,A,B,C,D,E,F,sync", "phases to run, in this order (fill first: the others read its keys)")
	flag.IntVar(&c.repeat, "repeat", 1, "rounds of the whole comparison, one after another; with more than one, the median ratio of the rounds is printed with their range")
	flag.Float64Var(&c.zipf, "zipf", 1.1, "Zipf exponent s of the key choice (> 1; YCSB's skew is near 1)")
	flag.BoolVar(&c.stats, "stats", false, "print what the runtime did in each phase on nowait (aio.Stats)")
	flag.BoolVar(&c.pebbleStats, "pebble-stats", false, "print each phase's write stalls, block cache hits, flushes and compactions (kinds, bytes, time, the levels at the end)")
	flag.BoolVar(&c.walStats, "wal-stats", false, "time pebble's writes and syncs of its write-ahead logs in each phase")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	blockProfile := flag.String("blockprofile", "", "write where goroutines waited (channels, locks, conditions) over the whole run to this file")
	flag.Parse()
	if *blockProfile != "" {
		runtime.SetBlockProfileRate(10_000) // one sample per 10 us waited
		defer writeProfile("block", *blockProfile)
	}
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
	var err error
	if c.phases, err = parsePhases(phaseList); err == nil {
		err = run(c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ycsb:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// writeProfile writes the named runtime profile to path.
func writeProfile(name, path string) {
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup(name).WriteTo(f, 0)
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ycsb:", err)
	}
}

func parsePhases(list string) ([]phase, error) {
	var out []phase
	for i, name := range strings.Split(list, ",") {
		found := false
		for _, ph := range phases {
			if ph.name == name {
				out, found = append(out, ph), true
			}
		}
		if !found {
			return nil, fmt.Errorf("--phases: unknown phase %q (fill, A-F, sync)", name)
		}
		if i == 0 && name != "fill" {
			return nil, fmt.Errorf("--phases: the first phase must be fill (the others read its keys), not %q", name)
		}
	}
	return out, nil
}

func run(c config) error {
	if c.zipf <= 1 {
		return fmt.Errorf("--zipf=%g: the exponent must be above 1", c.zipf)
	}
	if c.keys < 2 || c.valueLen < 1 || c.threads < 1 || c.repeat < 1 {
		return fmt.Errorf("--keys must be at least 2, --value, --threads and --repeat at least 1")
	}
	fmt.Printf("ycsb: %d keys of %d-byte values, %d goroutines, %v per workload, zipf s=%g, in %s\n",
		c.keys, c.valueLen, c.threads, c.duration, c.zipf, c.dir)
	rounds := make([]map[string][]result, c.repeat)
	for i := range rounds {
		if c.repeat > 1 {
			fmt.Printf("\nround %d of %d\n", i+1, c.repeat)
		}
		fmt.Printf("%-10s %-5s %9s %10s %9s %9s %9s %10s %10s\n", "fs", "phase", "mem MiB", "ops/s", "p50 us", "p99 us", "p99.9 us", "CPU us/op", "resident")
		results, err := runRound(c)
		if err != nil {
			return err
		}
		printRatios(c, results)
		rounds[i] = results
	}
	if c.repeat > 1 {
		printMedians(c, rounds)
	}
	return nil
}

// runRound runs each FS in turn, vfs.Default first: its page cache's peak
// sets the others' memory (--same-memory).
func runRound(c config) (map[string][]result, error) {
	results := map[string][]result{}
	extra := int64(0) // the most of vfs.Default's files the page cache held
	for _, name := range c.fs {
		memory := c.cache
		if name != "default" && c.sameMemory {
			memory += extra
		}
		rs, peak, err := runFS(c, name, memory)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		results[name] = rs
		if name == "default" {
			extra = peak
		}
	}
	return results, nil
}

// printRatios prints each nowait run's ops/s and p99 against
// vfs.Default's, phase by phase.
func printRatios(c config, results map[string][]result) {
	df := results["default"]
	if len(df) == 0 {
		return
	}
	for _, name := range c.fs {
		nw := results[name]
		if name == "default" || len(nw) == 0 {
			continue
		}
		fmt.Printf("\n%s / vfs.Default: %-5s %8s %8s\n", name, "phase", "ops/s", "p99")
		for i, ph := range c.phases {
			fmt.Printf("%*s %-5s %7.2fx %7.2fx\n", len(name)+15, "", ph.name,
				nw[i].opsPerSec()/df[i].opsPerSec(), nw[i].p99()/df[i].p99())
		}
	}
}

// printMedians prints, for each nowait run and phase, the median of the
// rounds' ratios to vfs.Default's ops/s and p99, with their range: a
// round's ratio compares runs of one sitting.
func printMedians(c config, rounds []map[string][]result) {
	for _, name := range c.fs {
		if name == "default" || len(rounds[0]["default"]) == 0 {
			continue
		}
		title := fmt.Sprintf("%s / vfs.Default, median of %d rounds:", name, len(rounds))
		fmt.Printf("\n%s %-5s %20s %20s\n", title, "phase", "ops/s (range)", "p99 (range)")
		for i, ph := range c.phases {
			var ops, p99 []float64
			for _, r := range rounds {
				nw, df := r[name][i], r["default"][i]
				ops = append(ops, nw.opsPerSec()/df.opsPerSec())
				p99 = append(p99, nw.p99()/df.p99())
			}
			fmt.Printf("%*s %-5s %20s %20s\n", len(title), "", ph.name, spread(ops), spread(p99))
		}
	}
}

// spread is xs's median and range, as ratios.
func spread(xs []float64) string {
	slices.Sort(xs)
	mid := xs[len(xs)/2]
	if len(xs)%2 == 0 {
		mid = (xs[len(xs)/2-1] + mid) / 2
	}
	return fmt.Sprintf("%.2fx (%.2f-%.2f)", mid, xs[0], xs[len(xs)-1])
}

// nowaitFS parses a --fs entry for nowait: "nowait", or "nowait/N" where
// N MiB of its memory keep the data it wrote last (pebblevfs
// Options.WrittenCache), taken from its block cache.
func nowaitFS(name string) (written int64, ok bool) {
	rest, found := strings.CutPrefix(name, "nowait")
	if !found {
		return 0, false
	}
	if rest == "" {
		return 0, true
	}
	mib, err := strconv.ParseInt(strings.TrimPrefix(rest, "/"), 10, 64)
	if err != nil || mib < 0 || rest[0] != '/' {
		return 0, false
	}
	return mib << 20, true
}

// runFS fills a fresh database on the named FS and runs the phases; it
// returns their results and the most of the database's files the page
// cache held.
func runFS(c config, name string, memory int64) ([]result, int64, error) {
	var fs vfs.FS
	var rt *aio.Runtime
	cacheBytes := memory
	if name == "default" {
		fs = vfs.Default
	} else if written, ok := nowaitFS(name); ok {
		if written >= memory {
			return nil, 0, fmt.Errorf("--fs=%s: %d MiB for written data leaves no block cache of %d MiB", name, written>>20, memory>>20)
		}
		var err error
		if rt, err = aio.New(aio.Config{}); err != nil {
			return nil, 0, err
		}
		defer rt.Close()
		fs = pebblevfs.NewWith(rt, pebblevfs.Options{WrittenCache: written})
		cacheBytes = memory - written
	} else {
		return nil, 0, fmt.Errorf("unknown --fs %q (default, nowait, nowait/N)", name)
	}
	var wal *walStats
	if c.walStats {
		wal = newWALStats()
		fs = walFS{fs, wal}
	}
	dir, err := os.MkdirTemp(c.dir, "ycsb-"+strings.ReplaceAll(name, "/", "-")+"-")
	if err != nil {
		return nil, 0, err
	}
	defer os.RemoveAll(dir)
	cache := pebble.NewCache(cacheBytes)
	defer cache.Unref()
	st := &background{}
	db, err := pebble.Open(filepath.Join(dir, "db"), &pebble.Options{FS: fs, Cache: cache, Logger: quietlog.Logger{},
		EventListener: st.listener()})
	if err != nil {
		return nil, 0, err
	}
	defer db.Close()
	ks := newKeyspace(c.keys)
	var out []result
	most := int64(0)
	for _, ph := range c.phases {
		var st0 aio.Stats
		if rt != nil {
			st0 = rt.Stats()
		}
		if wal != nil {
			wal.reset()
		}
		pb0 := readPebble(db, st)
		watch := watchResident(dir, 500*time.Millisecond)
		r, err := measure(c, db, ph, ks)
		peak := watch.done(dir)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", ph.name, err)
		}
		most = max(most, peak)
		r.print(name, ph.name, memory, peak)
		out = append(out, r)
		if c.stats && rt != nil {
			printStats(st0, rt.Stats())
		}
		if wal != nil {
			wal.print(r.ops)
		}
		if c.pebbleStats {
			printPebble(pb0, readPebble(db, st))
		}
	}
	return out, most, nil
}

func (r result) print(fs, ph string, cache, resident int64) {
	us := func(q float64) float64 { return float64(r.lat.ValueAtQuantile(q)) / 1e3 }
	fmt.Printf("%-10s %-5s %9d %10.0f %9.1f %9.1f %9.1f %10.2f %6.1f MiB\n", fs, ph, cache>>20,
		r.opsPerSec(), us(50), us(99), us(99.9),
		float64(r.cpu.Microseconds())/float64(r.ops), float64(resident)/(1<<20))
}

func printStats(st0, st aio.Stats) {
	fmt.Printf("           aio: writes %d fast (%d padded), %d slow (extend %d, unaligned %d, lock busy %d, other %d; %d edge units read or zeroed); reads %d fast, %d slow; %d kernel EAGAIN; %d syncs\n",
		st.FastWrites-st0.FastWrites, st.PaddedWrites-st0.PaddedWrites, st.SlowWrites-st0.SlowWrites,
		st.SlowExtend-st0.SlowExtend, st.SlowUnaligned-st0.SlowUnaligned, st.SlowLockBusy-st0.SlowLockBusy,
		st.SlowOther+st.SlowAllocate+st.SlowSubBlock-st0.SlowOther-st0.SlowAllocate-st0.SlowSubBlock, st.RMW-st0.RMW,
		st.FastReads-st0.FastReads, st.SlowReads-st0.SlowReads, st.KernelEAGAIN-st0.KernelEAGAIN, st.Syncs-st0.Syncs)
}
