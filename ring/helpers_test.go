package ring

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// newTestRing sets up a ring owned by the calling goroutine, locked to its
// thread as SINGLE_ISSUER requires, and closes it when the test ends.
func newTestRing(t testing.TB, cfg Config) *Ring {
	t.Helper()
	runtime.LockOSThread()
	r, err := New(cfg)
	if err != nil {
		runtime.UnlockOSThread()
		if IsUnavailable(err) {
			t.Skipf("needs a working io_uring: %v", err)
		}
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	t.Cleanup(func() {
		if !r.Closed() {
			r.Close()
		}
		runtime.UnlockOSThread()
	})
	return r
}

// needRing skips a test that sets up rings itself when io_uring is
// refused here, naming the cause.
func needRing(t testing.TB) {
	t.Helper()
	if err := Available(); IsUnavailable(err) {
		t.Skipf("needs a working io_uring: %v", err)
	}
}

// alignedBuf returns page-aligned memory outside the Go heap, as direct
// I/O needs and as the kernel may write into after Submit returns.
func alignedBuf(t testing.TB, size int) []byte {
	t.Helper()
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatalf("mmap %d bytes: %v", size, err)
	}
	t.Cleanup(func() { unix.Munmap(b) })
	return b
}

// directFile opens a new file in t.TempDir() (ext4 here) with O_DIRECT.
func directFile(t testing.TB) (*os.File, int32) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_DIRECT, 0o600)
	if err != nil {
		t.Fatalf("open %s with O_DIRECT: %v", path, err)
	}
	t.Cleanup(func() { f.Close() })
	return f, int32(f.Fd())
}

// fillRandom fills b from a seeded generator and returns the seed's stream.
func fillRandom(b []byte, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
}

// waitOne submits what is prepared and returns the next completion.
func waitOne(t testing.TB, r *Ring) CQE {
	t.Helper()
	var cqe [1]CQE
	if _, err := r.SubmitAndWait(1); err != nil {
		t.Fatalf("SubmitAndWait: %v", err)
	}
	n, err := r.Wait(cqe[:], 1, 5*time.Second)
	if err != nil || n != 1 {
		t.Fatalf("Wait: got %d completions, err %v", n, err)
	}
	return cqe[0]
}

// collect reaps until want completions have arrived, failing after 5 s.
func collect(t testing.TB, r *Ring, want int) []CQE {
	t.Helper()
	out := make([]CQE, want)
	got := 0
	deadline := time.Now().Add(5 * time.Second)
	for got < want {
		if time.Now().After(deadline) {
			t.Fatalf("got %d of %d completions in 5s", got, want)
		}
		n, err := r.Wait(out[got:], want-got, 100*time.Millisecond)
		if err != nil {
			t.Fatalf("Wait: %v", err)
		}
		got += n
	}
	return out
}

// sqe is NextSQE that fails the test when the queue is full.
func sqe(t testing.TB, r *Ring) *SQE {
	t.Helper()
	s := r.NextSQE()
	if s == nil {
		t.Fatalf("NextSQE: queue full (%d entries)", r.SQEntries())
	}
	return s
}
