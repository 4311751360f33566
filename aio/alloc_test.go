package aio

import (
	"testing"
	"time"
)

// TestContextFastPathAllocatesNothing: Submit and GetEvents of aligned
// 4 KiB reads and overwrites, the fast path, allocate nothing per I/O.
func TestContextFastPathAllocatesNothing(t *testing.T) {
	skipWithoutRing(t, "the fast path is the io_uring backend's; the syscall backend's workers are measured by benchmarks")
	rt := newRuntime(t, Config{Shards: 1})
	f := writtenFile(t, rt, 64<<10)
	ctx, _ := rt.NewContext(8)
	cbs := make([]*IOCB, 8)
	for i := range cbs {
		op := OpRead
		if i%2 == 1 {
			op = OpWrite
		}
		cbs[i] = &IOCB{Op: op, File: f, Buf: AlignedBuffer(4096), Offset: int64(i) * 4096}
	}
	events := make([]Event, 8)
	round := func() {
		submitAndCollect(t, ctx, cbs, events, 4096)
	}
	round() // warm: the first append-free round sizes the internal slices
	if a := testing.AllocsPerRun(100, round); a != 0 {
		t.Fatalf("%v allocations per round of 8 I/Os, want 0", a)
	}
	st := rt.Stats()
	if !f.ino.Prov.Policy().NoWaitWrites {
		// btrfs refuses every NOWAIT write: the writes go straight to the
		// workers (also without allocating), none is sent to be refused.
		if st.FastReads == 0 || st.FastWrites != 0 || st.KernelEAGAIN != 0 {
			t.Fatalf("on %s, reads fast and writes to the workers without a trip to the kernel: %+v", f.ino.Prov.Policy().Filesystem, st)
		}
		return
	}
	if st.FastReads == 0 || st.FastWrites == 0 {
		t.Fatalf("the rounds did not take the fast path: %+v", st)
	}
}

// TestFileMethodsAllocateNothing: ReadAt and WriteAt (pooled contexts)
// allocate nothing on the fast path either.
func TestFileMethodsAllocateNothing(t *testing.T) {
	skipWithoutRing(t, "the fast path is the io_uring backend's")
	rt := newRuntime(t, Config{Shards: 1})
	f := writtenFile(t, rt, 64<<10)
	buf := AlignedBuffer(4096)
	io := func() {
		if _, err := f.WriteAt(buf, 8192); err != nil {
			t.Fatal(err)
		}
		if _, err := f.ReadAt(buf, 4096); err != nil {
			t.Fatal(err)
		}
	}
	io()
	if a := testing.AllocsPerRun(100, io); a != 0 {
		t.Fatalf("%v allocations per WriteAt+ReadAt, want 0", a)
	}
	want := uint64(202) // btrfs refuses NOWAIT writes: they go to a worker (without allocating either)
	if !f.ino.Prov.Policy().NoWaitWrites {
		want = 101
	}
	if st := rt.Stats(); st.CallerDriven < want {
		t.Fatalf("%d of the 202 I/Os ran on a ring, want %d (%+v)", st.CallerDriven, want, st)
	}
}

// submitAndCollect submits cbs and collects one event for each into
// events, each of which must have moved n bytes without error.
func submitAndCollect(t *testing.T, ctx *Context, cbs []*IOCB, events []Event, n int) {
	t.Helper()
	if k, err := ctx.Submit(cbs...); k != len(cbs) || err != nil {
		t.Fatalf("Submit: %d, %v", k, err)
	}
	for got := 0; got < len(cbs); {
		k, err := ctx.GetEvents(len(cbs)-got, events[got:len(cbs)], 5*time.Second)
		if err != nil || k == 0 {
			t.Fatalf("GetEvents: %d, %v after %d of %d", k, err, got, len(cbs))
		}
		got += k
	}
	for _, ev := range events[:len(cbs)] {
		if ev.Err != nil || ev.N != n {
			t.Fatalf("event %+v, want %d bytes", ev, n)
		}
	}
}

// TestContextWaitAllocatesNothing: one read at a time, GetEvents waiting
// for it (in the context's ring on io_uring), allocates nothing.
func TestContextWaitAllocatesNothing(t *testing.T) {
	skipWithoutRing(t, "the fast path is the io_uring backend's")
	rt := newRuntime(t, Config{})
	f := writtenFile(t, rt, 64<<10)
	ctx, _ := rt.NewContext(1)
	cb := []*IOCB{{Op: OpRead, File: f, Buf: AlignedBuffer(4096), Offset: 8192}}
	events := make([]Event, 1)
	one := func() { submitAndCollect(t, ctx, cb, events, 4096) }
	one()
	if a := testing.AllocsPerRun(200, one); a != 0 {
		t.Fatalf("%v allocations per read waited for, want 0", a)
	}
}

// TestGroupCommitAllocatesNothing: a group commit through a Context (8
// overwrites and a barrier fdatasync in one Submit, the barrier parked
// until the writes complete, then released) allocates nothing either.
func TestGroupCommitAllocatesNothing(t *testing.T) {
	skipWithoutRing(t, "the fast path is the io_uring backend's")
	rt := newRuntime(t, Config{})
	f := writtenFile(t, rt, 64<<10)
	ctx, _ := rt.NewContext(9)
	cbs := make([]*IOCB, 9)
	for i := range 8 {
		cbs[i] = &IOCB{Op: OpWrite, File: f, Buf: AlignedBuffer(4096), Offset: int64(i) * 4096}
	}
	cbs[8] = &IOCB{Op: OpFdatasync, File: f, Flags: FlagBarrier}
	events := make([]Event, 9)
	commit := func() {
		if k, err := ctx.Submit(cbs...); k != 9 || err != nil {
			t.Fatalf("Submit: %d, %v", k, err)
		}
		for got := 0; got < 9; {
			k, err := ctx.GetEvents(9-got, events[got:], 5*time.Second)
			if err != nil || k == 0 {
				t.Fatalf("GetEvents: %d, %v after %d of 9", k, err, got)
			}
			got += k
		}
		for _, ev := range events {
			if ev.Err != nil {
				t.Fatalf("event %+v", ev)
			}
		}
	}
	commit()
	if a := testing.AllocsPerRun(50, commit); a != 0 {
		t.Fatalf("%v allocations per group commit, want 0", a)
	}
}
