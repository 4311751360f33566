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

// TestManyBlockingCallersUseTheOverflowRing: a blocking call drives its
// own ring only while at most GOMAXPROCS blocking calls are in progress. A
// thread asleep in io_uring_enter keeps its P; with more callers than Ps
// they starved each other, and 32 goroutines calling ReadAt ran at half
// the rate they reach otherwise (BenchmarkReadAt4KParallel: 28-32 µs per
// read against 15-16). Past that a call submits its request to the
// runtime's overflow ring itself and parks (it went to the shard, two
// hand-offs, 17.4-19.1 µs a read against 13.4-14.5).
func TestManyBlockingCallersUseTheOverflowRing(t *testing.T) {
	skipWithoutRing(t, "caller rings are the io_uring backend's")
	rt := newRuntime(t, Config{})
	if rt.overflow == nil {
		t.Skip("no overflow ring: context rings need IORING_REGISTER_SEND_MSG_RING (Linux 6.13)")
	}
	path := tempPath(t)
	if err := os.WriteFile(path, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	f := openFile(t, rt, path)
	buf := AlignedBuffer(4096)
	read := func() (driven, overflowed uint64) {
		before := rt.Stats()
		if _, err := f.ReadAt(buf, 8192); err != nil {
			t.Fatal(err)
		}
		after := rt.Stats()
		return after.CallerDriven - before.CallerDriven, after.Overflowed - before.Overflowed
	}
	if d, o := read(); d != 1 || o != 0 {
		t.Fatalf("a lone ReadAt: %d requests caller-driven and %d on the overflow ring, want 1 and 0", d, o)
	}
	rt.blocking.Add(rt.callerDriveMax) // as many other blocking calls in progress as Ps
	defer rt.blocking.Add(-rt.callerDriveMax)
	if d, o := read(); d != 0 || o != 1 {
		t.Fatalf("a ReadAt beside %d others: %d requests caller-driven and %d on the overflow ring, want 0 and 1", rt.callerDriveMax, d, o)
	}
}

// TestOverflowRingUnderLoad: 64 goroutines write and read back blocks of
// their own through the blocking methods at once, past the caller rings
// (as many other blocking calls counted in progress as Ps: whether 64
// goroutines overlap on their own depends on the filesystem's speed):
// every read sees its goroutine's last write, the overflow ring took them
// (or the shard, where its lock was held), and the runtime closes with
// nothing left in it.
func TestOverflowRingUnderLoad(t *testing.T) {
	skipWithoutRing(t, "the overflow ring is the io_uring backend's")
	rt, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	path := tempPath(t)
	f, err := rt.Open(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(64 * 4096); err != nil {
		t.Fatal(err)
	}
	rt.blocking.Add(rt.callerDriveMax)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, r := AlignedBuffer(4096), AlignedBuffer(4096)
			off := int64(g) * 4096
			for i := range 40 {
				for k := range w {
					w[k] = byte(g*7 + i + k)
				}
				if _, err := f.WriteAt(w, off); err != nil {
					errs <- err
					return
				}
				if _, err := f.ReadAt(r, off); err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(r, w) {
					errs <- fmt.Errorf("goroutine %d, round %d: the read differs from the write", g, i)
					return
				}
			}
		}()
	}
	wg.Wait()
	rt.blocking.Add(-rt.callerDriveMax)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := rt.Stats()
	if rt.overflow != nil && (st.Overflowed == 0 || st.CallerDriven != 0) {
		t.Errorf("64 blocking callers past the caller rings: %d on the overflow ring, %d on caller rings (%+v)", st.Overflowed, st.CallerDriven, st)
	}
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	if rt.overflow != nil && !rt.overflow.isClosed() {
		t.Error("Runtime.Close left the overflow ring open")
	}
	t.Logf("%d requests on the overflow ring, %d caller-driven", st.Overflowed, st.CallerDriven)
}
