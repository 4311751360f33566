package main

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/cockroachdb/pebble/v2"
	"golang.org/x/sys/unix"
)

// phase is one step of the run: the fill, or a workload mixing YCSB's
// operations in the given percentages (the rest of 100 are reads).
type phase struct {
	name   string
	fill   bool
	update int  // % updates of an existing key (NoSync, or Sync when sync)
	insert int  // % inserts of a new key
	scan   int  // % scans of scanLen keys from a chosen key
	rmw    int  // % read-modify-writes (a Get, then a Set of the key)
	latest bool // choose keys near the newest insert (YCSB D)
	sync   bool // every write waits for the WAL's fsync (pebble.Sync)
}

// The phases: YCSB's core workloads A-F, and synced commits.
var phases = []phase{
	{name: "fill", fill: true},
	{name: "A", update: 50},
	{name: "B", update: 5},
	{name: "C"},
	{name: "D", insert: 5, latest: true},
	{name: "E", scan: 95, insert: 5},
	{name: "F", rmw: 50},
	{name: "sync", update: 100, sync: true},
}

// scanLen is how many keys a scan reads (the mixed workload: 20).
const scanLen = 20

type result struct {
	ops     int64
	elapsed time.Duration
	lat     *hdrhistogram.Histogram // nanoseconds
	cpu     time.Duration
}

func (r result) opsPerSec() float64 { return float64(r.ops) / r.elapsed.Seconds() }
func (r result) p99() float64       { return float64(r.lat.ValueAtQuantile(99)) / 1e3 }

func key(i int) []byte { return []byte(fmt.Sprintf("user%012d", i)) }

// keyspace is the keys the database holds. Inserts (D and E) take the
// next key, next; reads choose below limit, the keys from 0 whose
// inserts have all completed (as YCSB's acknowledged counter: a key
// taken is not readable until its insert is done). Owner: shared; mu
// guards acked and limit's advance.
type keyspace struct {
	next  atomic.Int64
	limit atomic.Int64
	mu    sync.Mutex
	acked map[int64]bool // inserts done at or past limit
}

func newKeyspace(n int) *keyspace {
	ks := &keyspace{acked: map[int64]bool{}}
	ks.next.Store(int64(n))
	ks.limit.Store(int64(n))
	return ks
}

// inserted records that key k's insert is done.
func (ks *keyspace) inserted(k int64) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.acked[k] = true
	for l := ks.limit.Load(); ks.acked[l]; l++ {
		delete(ks.acked, l)
		ks.limit.Store(l + 1)
	}
}

// measure runs ph on db with c.threads goroutines.
func measure(c config, db *pebble.DB, ph phase, ks *keyspace) (result, error) {
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
				w := worker{c: c, db: db, ph: ph, ks: ks, h: hists[g], val: make([]byte, c.valueLen)}
				w.rng = rand.New(rand.NewPCG(uint64(g), uint64(len(ph.name))+2))
				w.zipf = rand.NewZipf(w.rng, c.zipf, 1, uint64(c.keys-1))
				counts[g], errs[g] = w.run(start.Add(c.duration))
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
	return r, nil
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

// worker is one goroutine of a workload. Owner: that goroutine.
type worker struct {
	c    config
	db   *pebble.DB
	ph   phase
	ks   *keyspace
	h    *hdrhistogram.Histogram
	rng  *rand.Rand
	zipf *rand.Zipf
	val  []byte
}

// run does the phase's operations until the deadline.
func (w *worker) run(deadline time.Time) (int64, error) {
	n := int64(0)
	for ; time.Now().Before(deadline); n++ {
		t := time.Now()
		if err := w.op(w.rng.IntN(100)); err != nil {
			return n, err
		}
		w.h.RecordValue(int64(time.Since(t)))
	}
	return n, nil
}

// op does the operation that die (0-99) draws.
func (w *worker) op(die int) error {
	ph := w.ph
	switch {
	case die < ph.update:
		return w.set(w.choose())
	case die < ph.update+ph.insert:
		k := w.ks.next.Add(1) - 1
		if err := w.set(int(k)); err != nil {
			return err
		}
		w.ks.inserted(k)
		return nil
	case die < ph.update+ph.insert+ph.scan:
		return w.scan(w.choose())
	case die < ph.update+ph.insert+ph.scan+ph.rmw:
		k := w.choose()
		if err := w.get(k); err != nil {
			return err
		}
		return w.set(k)
	}
	return w.get(w.choose())
}

// choose draws an existing key: Zipf over the ranks, scattered over the
// key space by a hash as YCSB's scrambled Zipf does (the hot keys are not
// neighbours); for D, Zipf back from the newest key.
func (w *worker) choose() int {
	n := w.ks.limit.Load()
	if w.ph.latest {
		return int(max(0, n-1-int64(w.zipf.Uint64())))
	}
	return int(scatter(w.zipf.Uint64()) % uint64(n))
}

func (w *worker) get(k int) error {
	v, closer, err := w.db.Get(key(k))
	if err != nil {
		return fmt.Errorf("Get %s: %w", key(k), err)
	}
	defer closer.Close()
	if len(v) != w.c.valueLen {
		return fmt.Errorf("Get %s: %d bytes, want %d", key(k), len(v), w.c.valueLen)
	}
	return nil
}

func (w *worker) set(k int) error {
	fillValue(w.rng, w.val)
	opt := pebble.NoSync
	if w.ph.sync {
		opt = pebble.Sync
	}
	return w.db.Set(key(k), w.val, opt)
}

// scan reads scanLen keys from k on (fewer at the end of the key space).
func (w *worker) scan(k int) error {
	it, err := w.db.NewIter(nil)
	if err != nil {
		return err
	}
	got := 0
	for ok := it.SeekGE(key(k)); ok && got < scanLen; ok = it.Next() {
		if len(it.Value()) != w.c.valueLen {
			it.Close()
			return fmt.Errorf("scan from %s: %s has %d bytes, want %d", key(k), it.Key(), len(it.Value()), w.c.valueLen)
		}
		got++
	}
	return it.Close()
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
