package bench

import (
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/aio"
)

// BenchmarkGoHandoff measures, without nowait, what a hand-off between two
// goroutines costs around one 4 KiB O_DIRECT pread: the caller sends the
// offset over a channel and waits for the reply, as a caller of any I/O
// runtime with its own goroutines does. It reports the hand-offs slower
// than 3 ms per second and the slowest one: on the 2-vCPU machine of
// docs/benchmarks.md the Go scheduler leaves every goroutine of the program
// idle for 8-18 ms about every 100 ms, a floor under the tail latency of
// aio that is not aio's (docs/decisions.md).
//
//	go test -run '^$' -bench GoHandoff -benchtime=3s ./bench
func BenchmarkGoHandoff(b *testing.B) {
	path := filepath.Join(b.TempDir(), "data")
	if err := os.WriteFile(path, make([]byte, 64<<20), 0o600); err != nil {
		b.Fatal(err)
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECT, 0)
	if err != nil {
		b.Skipf("O_DIRECT on %s: %v (the hand-off is measured around a direct read)", path, err)
	}
	defer unix.Close(fd)
	buf := aio.AlignedBuffer(4096)
	req, resp := make(chan int64, 1), make(chan error, 1)
	go func() {
		for off := range req {
			_, err := unix.Pread(fd, buf, off)
			resp <- err
		}
	}()
	defer close(req)
	var slow int
	var worst time.Duration
	start := time.Now()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		req <- int64(rand.Intn(64<<20/4096)) * 4096
		if err := <-resp; err != nil {
			b.Fatal(err)
		}
		d := time.Since(t0)
		worst = max(worst, d)
		if d > 3*time.Millisecond {
			slow++
		}
	}
	b.ReportMetric(float64(slow)/time.Since(start).Seconds(), "stalls>3ms/s")
	b.ReportMetric(float64(worst.Microseconds()), "max-µs")
}
