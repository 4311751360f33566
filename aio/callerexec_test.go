package aio

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
)

func openFds(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("needs /proc/self/fd to count descriptors: %v", err)
	}
	return len(ents)
}

// TestCallerRings: File's blocking methods from many goroutines at once,
// more than the caller rings the runtime makes (callerRingsPerP per P):
// every byte right, the rings capped, and every ring's descriptor closed
// by Runtime.Close.
func TestCallerRings(t *testing.T) {
	skipWithoutRing(t, "caller rings are the io_uring backend's")
	before := openFds(t)
	rt, err := New(Config{Backend: BackendIOUring})
	if err != nil {
		t.Fatal(err)
	}
	path := tempPath(t)
	f := openFile(t, rt, path)
	const goroutines, per = 64, 20
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf, got := AlignedBuffer(4096), AlignedBuffer(4096)
			for i := range per {
				off := int64(g*per+i) * 4096
				for k := range buf {
					buf[k] = pattern(g, off+int64(k))
				}
				if _, err := f.WriteAt(buf, off); err != nil {
					errs <- err
					return
				}
				if _, err := f.ReadAt(got, off); err != nil || !bytes.Equal(got, buf) {
					errs <- fmt.Errorf("goroutine %d: block at %d read back wrong (%v)", g, off, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rt.syncMu.Lock()
	made, most := rt.callerRings, callerRingsPerP*runtime.GOMAXPROCS(0)
	rt.syncMu.Unlock()
	if made == 0 || made > most {
		t.Fatalf("%d caller rings for %d goroutines, want 1 to %d", made, goroutines, most)
	}
	if st := rt.Stats(); st.CallerDriven == 0 {
		t.Fatalf("no I/O ran on a caller ring: %+v", st)
	}
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	if after := openFds(t); after > before {
		t.Fatalf("%d descriptors open after Runtime.Close, %d before: caller rings leaked", after, before)
	}
}

// TestManyBlockingCallersUseTheShards: a blocking call drives its own
// ring only while at most GOMAXPROCS blocking calls are in progress. A
// thread asleep in io_uring_enter keeps its P; with more callers than Ps
// they starved each other, and 32 goroutines calling ReadAt ran at half
// the rate they reach through the shards, which batch them
// (BenchmarkReadAt4KParallel: 28-32 µs per read against 15-16).
func TestManyBlockingCallersUseTheShards(t *testing.T) {
	skipWithoutRing(t, "caller rings are the io_uring backend's")
	rt := newRuntime(t, Config{})
	path := tempPath(t)
	if err := os.WriteFile(path, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	f := openFile(t, rt, path)
	buf := AlignedBuffer(4096)
	read := func() uint64 {
		before := rt.Stats().CallerDriven
		if _, err := f.ReadAt(buf, 8192); err != nil {
			t.Fatal(err)
		}
		return rt.Stats().CallerDriven - before
	}
	if n := read(); n != 1 {
		t.Fatalf("a lone ReadAt: %d requests caller-driven, want 1", n)
	}
	rt.blocking.Add(rt.callerDriveMax) // as many other blocking calls in progress as Ps
	defer rt.blocking.Add(-rt.callerDriveMax)
	if n := read(); n != 0 {
		t.Fatalf("a ReadAt beside %d others: %d requests caller-driven, want 0 (the shard)", rt.callerDriveMax, n)
	}
}
