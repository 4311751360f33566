package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/sys/unix"
)

// phase is one step of the run: the fill, or a workload of reads and
// updates in a given mix.
type phase struct {
	name    string
	fill    bool
	readPct int
}

var (
	fillPhase = phase{name: "fill", fill: true}
	workloadA = phase{name: "A", readPct: 50}
	workloadC = phase{name: "C", readPct: 100}
)

type result struct {
	ops        int64
	elapsed    time.Duration
	lat        *hdrhistogram.Histogram // nanoseconds
	cpu        time.Duration
	cachedGrew int64 // bytes of page cache, after minus before
}

func (r result) print(fs, ph string) {
	us := func(q float64) float64 { return float64(r.lat.ValueAtQuantile(q)) / 1e3 }
	fmt.Printf("%-8s %-5s %10.0f %9.1f %9.1f %9.1f %10.2f %9.1f MiB\n", fs, ph,
		float64(r.ops)/r.elapsed.Seconds(), us(50), us(99), us(99.9),
		float64(r.cpu.Microseconds())/float64(r.ops), float64(r.cachedGrew)/(1<<20))
}

func key(i int) []byte { return []byte(fmt.Sprintf("user%012d", i)) }

// measure runs ph on db with c.threads goroutines.
func measure(c config, db *pebble.DB, ph phase) (result, error) {
	cached0, err := cachedBytes()
	if err != nil {
		return result{}, err
	}
	cpu0 := cpuTime()
	start := time.Now()
	hists := make([]*hdrhistogram.Histogram, c.threads)
	counts := make([]int64, c.threads)
	errs := make([]error, c.threads)
	var wg sync.WaitGroup
	for g := range c.threads {
		hists[g] = hdrhistogram.New(1, int64(10*time.Second), 3)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ph.fill {
				counts[g], errs[g] = fill(c, db, g, hists[g])
			} else {
				counts[g], errs[g] = work(c, db, ph, g, start.Add(c.duration), hists[g])
			}
		}()
	}
	wg.Wait()
	if ph.fill {
		if err := db.Flush(); err != nil { // the fill is on disk, not in a memtable
			return result{}, err
		}
	}
	r := result{elapsed: time.Since(start), cpu: cpuTime() - cpu0, lat: hists[0]}
	for g := range c.threads {
		if errs[g] != nil {
			return result{}, errs[g]
		}
		r.ops += counts[g]
		if g > 0 {
			r.lat.Merge(hists[g])
		}
	}
	cached1, err := cachedBytes()
	r.cachedGrew = cached1 - cached0
	return r, err
}

// fill inserts goroutine g's share of the keys, one Set each, without a
// sync (YCSB's load phase); the phase ends with a flush.
func fill(c config, db *pebble.DB, g int, h *hdrhistogram.Histogram) (int64, error) {
	rng := rand.New(rand.NewPCG(uint64(g), 1))
	val := make([]byte, c.valueLen)
	n := int64(0)
	for i := g; i < c.keys; i += c.threads {
		fillValue(rng, val)
		t := time.Now()
		if err := db.Set(key(i), val, pebble.NoSync); err != nil {
			return n, err
		}
		h.RecordValue(int64(time.Since(t)))
		n++
	}
	return n, nil
}

// work runs reads and updates of Zipf-chosen keys until the deadline.
// The ranks are scattered over the key space by a hash, as YCSB's
// scrambled Zipf does, so that the hot keys are not neighbours.
func work(c config, db *pebble.DB, ph phase, g int, deadline time.Time, h *hdrhistogram.Histogram) (int64, error) {
	rng := rand.New(rand.NewPCG(uint64(g), 2))
	zipf := rand.NewZipf(rng, c.zipf, 1, uint64(c.keys-1))
	val := make([]byte, c.valueLen)
	n := int64(0)
	for ; time.Now().Before(deadline); n++ {
		k := key(int(scatter(zipf.Uint64()) % uint64(c.keys)))
		t := time.Now()
		if rng.IntN(100) < ph.readPct {
			v, closer, err := db.Get(k)
			if err != nil {
				return n, fmt.Errorf("Get %s: %w", k, err)
			}
			if len(v) != c.valueLen {
				closer.Close()
				return n, fmt.Errorf("Get %s: %d bytes, want %d", k, len(v), c.valueLen)
			}
			closer.Close()
		} else {
			fillValue(rng, val)
			if err := db.Set(k, val, pebble.NoSync); err != nil {
				return n, err
			}
		}
		h.RecordValue(int64(time.Since(t)))
	}
	return n, nil
}

func scatter(x uint64) uint64 { // a 64-bit mix (splitmix64's finaliser)
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func fillValue(rng *rand.Rand, v []byte) {
	for i := 0; i+8 <= len(v); i += 8 {
		binary.LittleEndian.PutUint64(v[i:], rng.Uint64())
	}
}

func cpuTime() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cachedBytes reads Cached from /proc/meminfo: the whole machine's page
// cache, so a phase's growth includes what else ran meanwhile.
func cachedBytes() (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Cached:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/meminfo has no Cached line")
}

// dropCache asks the kernel to drop the page cache of every file in dir
// (POSIX_FADV_DONTNEED), so that a phase starts without the cache the
// one before it left; files read with O_DIRECT have none.
func dropCache(dir string) {
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if f, err := os.Open(path); err == nil {
			unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
			f.Close()
		}
		return nil
	})
}
