package aio

import (
	"errors"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/aio/internal/engine"
	"github.com/nowaitio/nowait/iomap"
)

// Submit never waits: no lock that completions or workers take, no
// system call that can sleep. These tests assert it exactly where they
// can (who calls io_uring_enter; whether Submit returns while a writer of
// the map or a worker's fallocate is held), and otherwise with a generous
// bound (benchmarks measure the tail: bench's mixed job).

// mixedLoad submits a mix from one goroutine through ctx and collects it:
// 4 KiB reads of the written file, 4 KiB appends to the growing one,
// 512-byte writes into the fallocate'd one, a barrier fdatasync every 64.
// Each Submit's duration goes to submitted.
type mixedLoad struct {
	read, grow, prealloc *File
	rng                  *rand.Rand
	appendAt             int64
}

const mixedPrealloc = 8 << 20

func newMixedLoad(t *testing.T, rt *Runtime) *mixedLoad {
	t.Helper()
	readPath := tempPath(t)
	if err := os.WriteFile(readPath, make([]byte, 8<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	m := &mixedLoad{read: openFile(t, rt, readPath), grow: openFile(t, rt, tempPath(t)),
		prealloc: openFile(t, rt, tempPath(t)), rng: rand.New(rand.NewPCG(1, 2))}
	if err := m.prealloc.Allocate(0, mixedPrealloc); err != nil {
		t.Fatal(err)
	}
	return m
}

// next fills cb with the i-th request of the mix.
func (m *mixedLoad) next(i int, cb *IOCB) {
	buf := cb.Buf[:cap(cb.Buf)]
	switch {
	case i%64 == 63:
		*cb = IOCB{Op: OpFdatasync, File: m.prealloc, Flags: FlagBarrier, Buf: buf[:0]}
	case i%3 == 0:
		*cb = IOCB{Op: OpRead, File: m.read, Buf: buf[:4096], Offset: m.rng.Int64N(2048) * 4096}
	case i%3 == 1:
		*cb = IOCB{Op: OpWrite, File: m.grow, Buf: buf[:4096], Offset: m.appendAt}
		m.appendAt += 4096
	default:
		*cb = IOCB{Op: OpWrite, File: m.prealloc, Buf: buf[:512], Offset: m.rng.Int64N(mixedPrealloc/512) * 512}
	}
}

// run submits n requests, one per Submit, keeping up to depth in flight,
// and returns the longest Submit.
func (m *mixedLoad) run(t *testing.T, ctx *Context, depth, n int, each func(d time.Duration)) time.Duration {
	t.Helper()
	cbs := make([]IOCB, depth)
	free := make([]*IOCB, depth)
	for i := range cbs {
		cbs[i].Buf = AlignedBuffer(4096)
		free[i] = &cbs[i]
	}
	events := make([]Event, depth)
	var longest time.Duration
	for i, inflight := 0, 0; i < n || inflight > 0; {
		if i < n && len(free) > 0 {
			cb := free[len(free)-1]
			free = free[:len(free)-1]
			m.next(i, cb)
			t0 := time.Now()
			_, err := ctx.Submit(cb)
			d := time.Since(t0)
			if err != nil {
				t.Fatalf("Submit %d: %v", i, err)
			}
			longest = max(longest, d)
			if each != nil {
				each(d)
			}
			i++
			inflight++
			continue
		}
		k, err := ctx.GetEvents(1, events, 10*time.Second)
		if err != nil || k == 0 {
			t.Fatalf("GetEvents: %d, %v with %d in flight", k, err, inflight)
		}
		for _, ev := range events[:k] {
			if ev.Err != nil {
				t.Fatalf("%v at %d: %v", ev.IOCB.Op, ev.IOCB.Offset, ev.Err)
			}
			free = append(free, ev.IOCB)
		}
		inflight -= k
	}
	return longest
}

// TestSubmitNeverEntersTheKernel: under a mixed load through a Context,
// beside blocking File calls on other goroutines, no io_uring_enter is
// made with Context.Submit on its stack: the kernel takes what Submit
// queued in an enter of GetEvents', a blocking call's, or the helper's.
// The build before entered the kernel in every Submit that placed I/O.
func TestSubmitNeverEntersTheKernel(t *testing.T) {
	skipWithoutRing(t, "io_uring_enter is the io_uring backend's")
	var enters, fromSubmit atomic.Int64
	var where atomic.Value
	engine.TestHook = func(x *engine.Ring) {
		x.Kernel().InjectEnterFaults(func() unix.Errno {
			enters.Add(1)
			if stack := callers(); strings.Contains(stack, "aio.(*Context).Submit") {
				fromSubmit.Add(1)
				where.Store(stack)
			}
			return 0
		})
	}
	t.Cleanup(func() { engine.TestHook = nil })
	rt := newRuntime(t, Config{})
	m := newMixedLoad(t, rt)
	ctx, err := rt.NewContext(32)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 2 { // blocking callers beside it
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := AlignedBuffer(4096)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := m.read.ReadAt(buf, int64(g*1000+i%1000)*4096); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	m.run(t, ctx, 32, 3000, nil)
	close(stop)
	wg.Wait()
	if n := fromSubmit.Load(); n != 0 {
		t.Fatalf("%d of %d io_uring_enter calls made inside Submit, one from:\n%s", n, enters.Load(), where.Load())
	}
	if enters.Load() == 0 {
		t.Fatal("no io_uring_enter seen: the hook saw nothing")
	}
	t.Logf("%d io_uring_enter calls, none inside Submit", enters.Load())
}

// callers is the calling goroutine's stack, as function names.
func callers() string {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	var b strings.Builder
	for {
		f, more := frames.Next()
		b.WriteString(f.Function)
		b.WriteByte('\n')
		if !more {
			return b.String()
		}
	}
}

// TestSubmitWhileTheMapWriterIsHeld: a completion updating the file's
// map is held inside its update (iomap.UpdateHook) for as long as the
// test likes; Submits of reads and writes to the same file return all
// the same, before the writer is let go. In the build before, Submit
// read the map under a lock that completions held while updating it, and
// waited 4-7 ms behind them in the mixed job.
func TestSubmitWhileTheMapWriterIsHeld(t *testing.T) {
	rt := newRuntime(t, Config{})
	f := openFile(t, rt, tempPath(t))
	if err := f.Allocate(0, 1<<20); err != nil {
		t.Fatal(err)
	}
	var held atomic.Bool
	release := make(chan struct{})
	stalled := make(chan struct{}, 1)
	iomap.UpdateHook = func() {
		if held.CompareAndSwap(false, true) {
			stalled <- struct{}{}
			<-release
		}
	}
	t.Cleanup(func() { iomap.UpdateHook = nil })
	// A write into unwritten storage: its completion turns it written, an
	// update of the map, which the hook holds.
	go func() { f.WriteAt(AlignedBuffer(4096), 0) }()
	select {
	case <-stalled:
	case <-time.After(10 * time.Second):
		t.Fatal("the write's completion never updated the map")
	}
	ctx, err := rt.NewContext(8)
	if err != nil {
		close(release)
		t.Fatal(err)
	}
	cbs := []*IOCB{
		{Op: OpRead, File: f, Buf: AlignedBuffer(4096), Offset: 8192},
		{Op: OpWrite, File: f, Buf: AlignedBuffer(4096), Offset: 16384},
		{Op: OpWrite, File: f, Buf: make([]byte, 100), Offset: 5000},
		{Op: OpFdatasync, File: f, Flags: FlagBarrier},
	}
	for _, cb := range cbs {
		if _, err := ctx.Submit(cb); err != nil {
			close(release)
			t.Fatal(err)
		}
	}
	stillHeld := held.Load() && !isClosed(release)
	close(release)
	if !stillHeld {
		t.Fatal("the map's writer was let go before the Submits returned")
	}
	collect(t, ctx, len(cbs))
	ctx.Close()
}

// TestSubmitWhileAWorkerFallocates: a worker's fallocate on the file
// (append-ahead of an append; on btrfs, an OpAllocate) is held in the system call; Submits of
// reads, overwrites and another append to the same file return all the
// same, before the fallocate is let go.
func TestSubmitWhileAWorkerFallocates(t *testing.T) {
	release := make(chan struct{})
	stalled := make(chan struct{}, 1)
	var once sync.Once
	injectStall(t, func(k sysKind) {
		if k == sysFallocate {
			once.Do(func() {
				stalled <- struct{}{}
				<-release
			})
		}
	})
	rt := newRuntime(t, Config{})
	f := writtenFile(t, rt, 64<<10)
	ctx, err := rt.NewContext(8)
	if err != nil {
		t.Fatal(err)
	}
	first := &IOCB{Op: OpWrite, File: f, Buf: AlignedBuffer(4096), Offset: 64 << 10} // an append: the worker extends ahead
	if f.ino.Prov.Policy().Growth != iomap.GrowAhead {
		// btrfs: the append's write grows the file itself, with no
		// fallocate; a preallocation is the worker's fallocate here.
		first = &IOCB{Op: OpAllocate, File: f, Offset: 64 << 10, Length: 1 << 20}
	}
	if _, err := ctx.Submit(first); err != nil {
		t.Fatal(err)
	}
	// GetEvents (or the helper) wakes the worker; it stalls in fallocate.
	var ev [1]Event
	ctx.GetEvents(0, ev[:], 0)
	select {
	case <-stalled:
	case <-time.After(10 * time.Second):
		t.Fatalf("the %v never reached fallocate", first.Op)
	}
	cbs := []*IOCB{
		{Op: OpRead, File: f, Buf: AlignedBuffer(4096), Offset: 4096},
		{Op: OpWrite, File: f, Buf: AlignedBuffer(4096), Offset: 8192},
		{Op: OpWrite, File: f, Buf: AlignedBuffer(4096), Offset: 68 << 10},
		{Op: OpFsync, File: f, Flags: FlagBarrier},
	}
	for _, cb := range cbs {
		if _, err := ctx.Submit(cb); err != nil {
			close(release)
			t.Fatal(err)
		}
	}
	stillHeld := !isClosed(release)
	close(release)
	if !stillHeld {
		t.Fatal("the fallocate was let go before the Submits returned")
	}
	collect(t, ctx, len(cbs)+1)
	ctx.Close()
}

// TestSubmitUnderMixedLoadIsShort: 20,000 Submits of the mix, each timed;
// none takes as long as waiting for a lock, a device or a worker would
// (the bound is generous: this machine stalls, all threads at once, for
// up to 70 ms now and then; bench's mixed job measures the tail).
func TestSubmitUnderMixedLoadIsShort(t *testing.T) {
	if testing.Short() {
		t.Skip("20,000 requests of a mixed load")
	}
	rt := newRuntime(t, Config{})
	m := newMixedLoad(t, rt)
	ctx, err := rt.NewContext(64)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	const bound = 250 * time.Millisecond
	if longest := m.run(t, ctx, 64, 20000, nil); longest > bound {
		t.Fatalf("a Submit took %v (bound %v)", longest, bound)
	} else {
		t.Logf("longest Submit %v", longest)
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// collect takes n events from ctx, failing on an error.
func collect(t *testing.T, ctx *Context, n int) {
	t.Helper()
	events := make([]Event, n)
	for got := 0; got < n; {
		k, err := ctx.GetEvents(1, events[got:], 10*time.Second)
		if err != nil || k == 0 {
			t.Fatalf("GetEvents %d, %v after %d of %d", k, err, got, n)
		}
		for _, ev := range events[got : got+k] {
			if ev.Err != nil && !errors.Is(ev.Err, os.ErrClosed) {
				t.Fatalf("%v at %d: %v", ev.IOCB.Op, ev.IOCB.Offset, ev.Err)
			}
		}
		got += k
	}
}

// injectStall wraps the slow path's system calls so that before each
// one, stall sees its kind (and may block it).
func injectStall(t *testing.T, stall func(k sysKind)) {
	injectSys(t).before = stall
}
