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
