package aio

import (
	"bytes"
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/aio/internal/engine"
)

// contextWithRing makes a context of depth on its own ring, skipping where
// the runtime cannot give it one (the syscall backend, a kernel before
// 6.13), and an 8 MiB written file.
func contextWithRing(t *testing.T, rt *Runtime, depth int) (*Context, *File) {
	t.Helper()
	skipWithoutRing(t, "a context ring is the io_uring backend's")
	path := tempPath(t)
	if err := os.WriteFile(path, make([]byte, 8<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	f := openFile(t, rt, path)
	ctx, err := rt.NewContext(depth)
	if err != nil {
		t.Fatal(err)
	}
	if ctx.x == nil {
		t.Fatal("a Context on the io_uring backend has no ring")
	}
	return ctx, f
}

// TestContextRingCarriesTheFastPath: a context's fast requests go on its own
// ring (counted as caller-driven), come back whole, and a worker's
// completion wakes a GetEvents that waits in the ring without a deadline.
func TestContextRingCarriesTheFastPath(t *testing.T) {
	rt := newRuntime(t, Config{})
	ctx, f := contextWithRing(t, rt, 32)
	defer ctx.Close()
	bufs := make([][]byte, 32)
	cbs := make([]*IOCB, 32)
	for i := range cbs {
		bufs[i] = AlignedBuffer(4096)
		for k := range bufs[i] {
			bufs[i][k] = byte(i + 1)
		}
		cbs[i] = &IOCB{Op: OpWrite, File: f, Buf: bufs[i], Offset: int64(i) * 65536, UserData: uint64(i)}
	}
	// Writes go to the ring where the filesystem takes NOWAIT writes;
	// where it refuses them all (btrfs) they go to the workers at once,
	// and the reads of what they wrote go to the ring.
	onRing := OpWrite
	if !f.ino.Prov.Policy().NoWaitWrites {
		onRing = OpRead
	}
	events := make([]Event, 32)
	for _, op := range []Op{OpWrite, OpRead} {
		for _, cb := range cbs {
			cb.Op = op
		}
		before := rt.Stats()
		submitAndCollect(t, ctx, cbs, events, 4096)
		after := rt.Stats()
		if d := after.CallerDriven - before.CallerDriven; op == onRing && d != 32 {
			t.Errorf("%d of 32 %vs placed on the context's ring, want all", d, op)
		}
	}
	for i, b := range bufs {
		if b[0] != byte(i+1) || b[4095] != byte(i+1) {
			t.Fatalf("block %d read back wrong", i)
		}
	}
	// An unaligned write goes to a worker; its completion must wake a
	// GetEvents waiting in the ring.
	odd := []byte("context ring")
	if _, err := ctx.Submit(&IOCB{Op: OpWrite, File: f, Buf: odd, Offset: 1001}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := ctx.GetEvents(1, events[:1], -1)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil || events[0].Err != nil {
			t.Fatalf("GetEvents: %v, event %+v", err, events[0])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a worker's completion did not wake a GetEvents waiting in the context ring")
	}
	got := make([]byte, len(odd))
	if _, err := f.ReadAt(got, 1001); err != nil || !bytes.Equal(got, odd) {
		t.Fatalf("read back: %v %q", err, got)
	}
}

// TestContextRingNeverStrandsAWaiter: requests a user submitted on a
// context ring and did not collect are reaped whenever the runtime waits
// for them: a blocking Sync behind them (a barrier), an unaligned
// blocking write over them (a range lock), Truncate, File.Close, and
// Runtime.Close with the context still open and a GetEvents waiting on it.
// Without the reaper every one of these waits for ever.
func TestContextRingNeverStrandsAWaiter(t *testing.T) {
	steps := []struct {
		name string
		do   func(rt *Runtime, f *File) error
	}{
		{"Sync", func(_ *Runtime, f *File) error { return f.Sync() }},
		{"unaligned WriteAt over them", func(_ *Runtime, f *File) error { _, err := f.WriteAt([]byte("over"), 4094); return err }},
		{"Truncate", func(_ *Runtime, f *File) error { return f.Truncate(4 << 20) }},
		{"File.Close", func(_ *Runtime, f *File) error { return f.Close() }},
		{"Runtime.Close", func(rt *Runtime, _ *File) error { return rt.Close() }},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			rt := newRuntime(t, Config{})
			ctx, f := contextWithRing(t, rt, 64)
			cbs := make([]*IOCB, 64)
			for i := range cbs {
				cbs[i] = &IOCB{Op: OpWrite, File: f, Buf: AlignedBuffer(4096), Offset: int64(i) * 4096}
			}
			if n, err := ctx.Submit(cbs...); n != 64 || err != nil {
				t.Fatalf("Submit: %d, %v", n, err)
			}
			waiter := make(chan error, 1)
			if st.name == "Runtime.Close" {
				go func() {
					time.Sleep(10 * time.Millisecond) // let Close find it waiting, or not: either way it returns
					var ev [1]Event
					for {
						if _, err := ctx.GetEvents(1, ev[:], -1); err != nil {
							waiter <- err
							return
						}
					}
				}()
			}
			done := make(chan error, 1)
			go func() { done <- st.do(rt, f) }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("%s waited for ever for requests left in a context ring", st.name)
			}
			if st.name == "Runtime.Close" {
				select {
				case err := <-waiter:
					if !errors.Is(err, ErrContextClosed) {
						t.Fatalf("GetEvents after Runtime.Close: %v, want ErrContextClosed", err)
					}
				case <-time.After(20 * time.Second):
					t.Fatal("a GetEvents waiting on the context did not return after Runtime.Close")
				}
				return
			}
			if err := ctx.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestContextRingRefusedWhileWaiting: io_uring_enter starts failing for
// good (a seccomp filter installed since the ring was made) while
// GetEvents waits in a context ring with reads in the kernel. The ring is
// marked broken at the first refusal, so that nothing goes to it again and
// its waiters poll its CQ instead of calling the refused enter in a loop
// (the first build did, spinning a core until every CQE was in); every
// read completes with its data.
func TestContextRingRefusedWhileWaiting(t *testing.T) {
	// Only the context's ring refuses: a refusal on a shared ring (the
	// test's own WriteAt) would count without playing the case.
	var refuse atomic.Bool
	var refused atomic.Int64
	var target atomic.Pointer[engine.Ring]
	engine.TestHook = func(s *engine.Ring) {
		s.Kernel().InjectEnterFaults(func() unix.Errno {
			if refuse.Load() && target.Load() == s {
				refused.Add(1)
				return unix.EPERM
			}
			return 0
		})
	}
	defer func() { engine.TestHook = nil }()
	rt := newRuntime(t, Config{})
	ctx, f := contextWithRing(t, rt, 32)
	defer ctx.Close()
	target.Store(ctx.x)
	want := make([]byte, 32*4096)
	for i := range want {
		want[i] = byte(i/4096 + 1)
	}
	if _, err := f.WriteAt(want, 0); err != nil {
		t.Fatal(err)
	}
	cbs := make([]*IOCB, 32)
	for i := range cbs {
		cbs[i] = &IOCB{Op: OpRead, File: f, Buf: AlignedBuffer(4096), Offset: int64(i) * 4096}
	}
	// A round plays the case only if the reads are still in the kernel
	// when GetEvents first looks; on a fast device (a loop device over the
	// page cache) they may all be done by then, and the round is run again.
	const rounds = 200
	played := false
	for round := 0; round < rounds && !played; round++ {
		refuse.Store(false)
		before := rt.Stats().CallerDriven
		if n, err := ctx.Submit(cbs...); n != 32 || err != nil {
			t.Fatalf("Submit: %d, %v", n, err)
		}
		onRing := rt.Stats().CallerDriven-before == 32
		refuse.Store(onRing) // the reads are in the kernel
		collectReads(t, ctx, want)
		played = refused.Load() > 0
	}
	if !played {
		t.Skipf("in %d rounds, every read was done before GetEvents looked (or went to the shards): on this device a GetEvents never waits with reads in the ring", rounds)
	}
	if !ctx.x.Broken() {
		t.Fatalf("the ring refused %d enters and is not marked broken: its waiters call the refused enter in a loop", refused.Load())
	}
	// Nothing goes to the broken ring again; the workers take it.
	if _, err := f.ReadAt(make([]byte, 4096), 0); err != nil {
		t.Fatal(err)
	}
}

// collectReads takes the 32 reads of want's blocks back from ctx and
// checks their bytes.
func collectReads(t *testing.T, ctx *Context, want []byte) {
	t.Helper()
	events := make([]Event, 32)
	for got := 0; got < 32; {
		n, err := ctx.GetEvents(1, events, 10*time.Second)
		if err != nil || n == 0 {
			t.Fatalf("GetEvents %d, %v after %d of 32", n, err, got)
		}
		for _, ev := range events[:n] {
			if ev.Err != nil {
				t.Fatalf("read at %d: %v", ev.IOCB.Offset, ev.Err)
			}
			if i := ev.IOCB.Offset / 4096; !bytes.Equal(ev.IOCB.Buf, want[i*4096:(i+1)*4096]) {
				t.Fatalf("read at %d: wrong data", ev.IOCB.Offset)
			}
		}
		got += n
	}
}
