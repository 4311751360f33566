package aio

import (
	"bytes"
	"fmt"
	"os"
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

// TestBlockingCallersShareRings: File's blocking methods from many more
// goroutines than rings (64 against GOMAXPROCS): every byte right, the
// requests on the shared rings (none on the workers: they are aligned
// overwrites and reads; where the filesystem refuses NOWAIT writes, the
// reads), and every ring's descriptor closed by Runtime.Close.
func TestBlockingCallersShareRings(t *testing.T) {
	skipWithoutRing(t, "the shared rings are the io_uring backend's")
	before := openFds(t)
	rt, err := New(Config{Backend: BackendIOUring})
	if err != nil {
		t.Fatal(err)
	}
	f := openFile(t, rt, tempPath(t))
	const goroutines, per = 64, 20
	if err := f.Truncate(goroutines * per * 4096); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, goroutines*per*4096), 0); err != nil { // written storage: overwrites go fast
		t.Fatal(err)
	}
	start := rt.Stats()
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
	st := rt.Stats()
	want := uint64(2 * goroutines * per)
	if !f.ino.Prov.Policy().NoWaitWrites {
		want /= 2
	}
	if d := st.CallerDriven - start.CallerDriven; d < want {
		t.Errorf("%d of %d requests placed on a ring (%+v)", d, want, st)
	}
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	if after := openFds(t); after > before {
		t.Fatalf("%d descriptors open after Runtime.Close, %d before: rings leaked", after, before)
	}
}

// TestReadAtRingAfterBurst: ReadAt from one goroutine, after 32
// goroutines called it at once, still runs on a ring, as it did before
// the burst. The build before capped the rings of the blocking methods
// and made one-slot contexts without a ring past the cap; its free list
// handed those out first ever after, and one goroutine's reads went
// through the overflow ring at 0.55x pread for the rest of the process.
func TestReadAtRingAfterBurst(t *testing.T) {
	skipWithoutRing(t, "the rings of the blocking methods are the io_uring backend's")
	rt := newRuntime(t, Config{})
	path := tempPath(t)
	if err := os.WriteFile(path, bytes.Repeat([]byte{7}, 4<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	f := openFile(t, rt, path)
	read := func(n int) {
		buf := AlignedBuffer(4096)
		for i := range n {
			if _, err := f.ReadAt(buf, int64(i%1024)*4096); err != nil {
				t.Error(err)
				return
			}
		}
	}
	onRing := func(phase string) {
		t.Helper()
		before := rt.Stats()
		read(200)
		after := rt.Stats()
		if d := after.CallerDriven - before.CallerDriven; d != 200 || after.SlowReads != before.SlowReads {
			t.Errorf("%s: %d of 200 reads placed on a ring, %d on the workers (%+v)", phase, d, after.SlowReads-before.SlowReads, after)
		}
	}
	onRing("before the burst")
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() { defer wg.Done(); read(300) }()
	}
	wg.Wait()
	onRing("after 32 goroutines")
}

// TestBlockingCallsWaitForTheirWholeEvent: a completion is pushed onto a
// blocking call's Context in two steps, and between them the Context
// looks ready while nothing can be popped yet. The call must wait for
// its event, not return the empty one: that gave a ReadAt of 0 bytes
// and no error (pebble saw io.EOF on a Get), and left the one-slot
// Context full for its next user ("aio: context full"). Built with
// nowait_invariants, every eighth push yields between its two steps.
func TestBlockingCallsWaitForTheirWholeEvent(t *testing.T) {
	rt := newRuntime(t, Config{})
	const goroutines, per, size = 16, 400, 64 << 10
	f := writtenFile(t, rt, size)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			buf := AlignedBuffer(4096)
			for i := range per {
				off := int64((g+i)%(size/4096)) * 4096
				if n, err := f.ReadAt(buf, off); n != len(buf) || err != nil {
					t.Errorf("goroutine %d, read %d at %d: %d bytes, %v", g, i, off, n, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
