package ring

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Benchmarks of the bare ring. bench/ring_vs_fio.sh runs the random-read
// ones beside fio's io_uring engine on the same file.
//
// The random-read file is NOWAIT_BENCH_FILE when set (it must hold at
// least 1 GiB of written data); otherwise a 1 GiB file of random data is
// written in the system temp directory once per process and removed by
// TestMain.

const benchFileSize = 1 << 30

// pollBeforeSleep is how long the random-read loop polls for a completion
// before it sleeps in the kernel.
const pollBeforeSleep = 5 * time.Microsecond

var (
	benchFileOnce sync.Once
	benchFilePath string
	benchFileErr  error
	benchFileTemp bool
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchFileTemp {
		os.RemoveAll(filepath.Dir(benchFilePath))
	}
	os.Exit(code)
}

func benchFile(b *testing.B) string {
	benchFileOnce.Do(func() {
		if p := os.Getenv("NOWAIT_BENCH_FILE"); p != "" {
			benchFilePath = p
			return
		}
		dir, err := os.MkdirTemp("", "nowait-ring-bench")
		if err != nil {
			benchFileErr = err
			return
		}
		benchFilePath, benchFileTemp = filepath.Join(dir, "randread-1g"), true
		benchFileErr = writeRandomFile(benchFilePath, benchFileSize)
	})
	if benchFileErr != nil {
		b.Fatalf("benchmark file: %v", benchFileErr)
	}
	return benchFilePath
}

// writeRandomFile writes real, non-zero data, so that reads hit the device
// rather than the filesystem's unwritten-extent shortcut.
func writeRandomFile(path string, size int) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC|unix.O_DIRECT, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	buf, err := unix.Mmap(-1, 0, 1<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return err
	}
	defer unix.Munmap(buf)
	for off := 0; off < size; off += len(buf) {
		fillRandom(buf, uint64(off))
		if _, err := f.WriteAt(buf, int64(off)); err != nil {
			return err
		}
	}
	return f.Sync()
}

// cpuTime is user+system CPU of the whole process, kernel workers included.
func cpuTime() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportIO(b *testing.B, cpu time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "iops")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

func BenchmarkNop(b *testing.B) {
	for _, batch := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			r := newTestRing(b, Config{Entries: 64, SingleIssuer: true, DeferTaskrun: true})
			cqes := make([]CQE, batch)
			b.ReportAllocs()
			cpu0 := cpuTime()
			b.ResetTimer()
			for done := 0; done < b.N; done += batch {
				for i := range batch {
					s := r.NextSQE()
					s.PrepNop()
					s.UserData = uint64(i)
				}
				if _, err := r.SubmitAndWait(uint32(batch)); err != nil {
					b.Fatal(err)
				}
				if n := r.Reap(cqes); n != batch {
					b.Fatalf("reaped %d of %d", n, batch)
				}
			}
			b.StopTimer()
			reportIO(b, cpuTime()-cpu0)
		})
	}
}

func BenchmarkRandRead4K(b *testing.B) {
	for _, c := range []struct {
		qd    int
		fixed bool
	}{{1, false}, {32, false}, {32, true}} {
		name := fmt.Sprintf("qd=%d", c.qd)
		if c.fixed {
			name += "-fixed"
		}
		b.Run(name, func(b *testing.B) { benchRandRead(b, c.qd, c.fixed) })
	}
}

// benchRandRead keeps qd 4 KiB O_DIRECT reads at uniformly random block
// offsets in flight: after each wait it reaps every completion and refills
// the freed slots, then submits them all in one system call.
func benchRandRead(b *testing.B, qd int, fixed bool) {
	const bs = 4096
	path := benchFile(b)
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_DIRECT, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() < bs {
		b.Fatalf("benchmark file %s: size %d, %v", path, st.Size(), err)
	}
	blocks := uint64(st.Size() / bs)

	cfg := Config{Entries: uint32(qd), SingleIssuer: true, DeferTaskrun: true}
	r := newTestRing(b, cfg)
	mem := alignedBuf(b, qd*bs)
	fd := int32(f.Fd())
	if fixed {
		if err := r.RegisterBuffers([][]byte{mem}); err != nil {
			b.Fatal(err)
		}
		if err := r.RegisterFiles([]int32{fd}); err != nil {
			b.Fatal(err)
		}
	}
	rng := uint64(0x2545F4914F6CDD1D)
	prep := func(slot uint64) {
		rng ^= rng << 13
		rng ^= rng >> 7
		rng ^= rng << 17
		off := (rng % blocks) * bs
		buf := mem[slot*bs : (slot+1)*bs]
		s := r.NextSQE()
		if fixed {
			s.PrepReadFixed(0, buf, off, 0, 0)
			s.UseFixedFile(0)
		} else {
			s.PrepRead(fd, buf, off, 0)
		}
		s.UserData = slot
	}
	cqes := make([]CQE, qd)
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	issued, done := 0, 0
	for ; issued < min(qd, b.N); issued++ {
		prep(uint64(issued))
	}
	for done < b.N {
		if _, err := r.Submit(); err != nil {
			b.Fatal(err)
		}
		// Poll briefly before sleeping: at this depth a completion is due
		// every few microseconds, and waking a halted virtual CPU costs
		// more (docs/decisions.md has the numbers).
		for t0 := time.Now(); !r.CompletionsPending() && time.Since(t0) < pollBeforeSleep; {
		}
		if !r.CompletionsPending() {
			if _, err := r.SubmitAndWait(1); err != nil {
				b.Fatal(err)
			}
		}
		n := r.Reap(cqes)
		for _, c := range cqes[:n] {
			if c.Res != bs {
				b.Fatalf("read at slot %d: res %d", c.UserData, c.Res)
			}
			done++
			if issued < b.N {
				prep(c.UserData)
				issued++
			}
		}
	}
	b.StopTimer()
	reportIO(b, cpuTime()-cpu0)
}
