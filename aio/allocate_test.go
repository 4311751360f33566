package aio

import (
	"bytes"
	"errors"
	"math"
	"os"
	"testing"
)

// TestOpAllocate: a preallocation submitted through a Context, as a
// database preallocates without waiting: the file grows to cover it, the
// range reads as zeros, a barrier Sync after it makes the size durable,
// and aligned writes into it are overwrites (the fast path on io_uring).
func TestOpAllocate(t *testing.T) {
	rt := newRuntime(t, Config{})
	path := tempPath(t)
	f := openFile(t, rt, path)
	ctx, err := rt.NewContext(4)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	const size = 8 << 20
	if err := submitOne(ctx, &IOCB{Op: OpAllocate, File: f, Offset: 0, Length: size}); err != nil {
		t.Fatalf("OpAllocate: %v", err)
	}
	// Length 0: the buffer's length, and the buffer untouched.
	marker := bytes.Repeat([]byte{0x5A}, 4096)
	if err := submitOne(ctx, &IOCB{Op: OpAllocate, File: f, Offset: size, Buf: marker}); err != nil {
		t.Fatalf("OpAllocate by len(Buf): %v", err)
	}
	if !bytes.Equal(marker, bytes.Repeat([]byte{0x5A}, 4096)) {
		t.Fatal("OpAllocate touched its Buf")
	}
	if got := f.Size(); got != size+4096 {
		t.Fatalf("Size %d after the allocations, want %d", got, size+4096)
	}
	buf := make([]byte, 4096)
	for _, off := range []int64{0, 12345, size - 4096} {
		buf[0] = 1
		if _, err := f.ReadAt(buf, off); err != nil || !bytes.Equal(buf, make([]byte, 4096)) {
			t.Fatalf("read of the allocated range at %d: %v, not zeros", off, err)
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	checkDiskSize(t, path, size+4096, "after OpAllocate and Sync")
	before := rt.Stats()
	w := AlignedBuffer(4096)
	for i := range 16 {
		if _, err := f.WriteAt(w, int64(i)*65536); err != nil {
			t.Fatal(err)
		}
	}
	after := rt.Stats()
	if after.Allocations != 2 {
		t.Errorf("Stats.Allocations %d, want 2", after.Allocations)
	}
	// The runtime sends every one to the ring. XFS may still refuse one
	// with EAGAIN (its inode lock taken by the conversion of the previous
	// write's unwritten extent: timing), and the worker does it: the
	// kernel's answer is measured in the agreement tables, not here.
	sent := after.FastWrites - before.FastWrites + after.KernelEAGAIN - before.KernelEAGAIN
	if !f.ino.Prov.Policy().NoWaitWrites {
		// btrfs refuses every NOWAIT write: none is sent to be refused.
		if sent != 0 {
			t.Errorf("%d writes sent to the ring on %s, which refuses them all", sent, f.ino.Prov.Policy().Filesystem)
		}
		return
	}
	if testBackend() == BackendIOUring && sent != 16 {
		t.Errorf("%d of 16 aligned writes into the allocated range were sent to the ring, want all (slow: %d; kernel EAGAIN %d, slow for lock %d, other %d)",
			sent, after.SlowWrites-before.SlowWrites, after.KernelEAGAIN-before.KernelEAGAIN,
			after.SlowLockBusy-before.SlowLockBusy, after.SlowOther-before.SlowOther)
	}
}

// TestOpAllocateBadInput: refused before anything is done, with the error
// that names the fault; the file is unchanged.
func TestOpAllocateBadInput(t *testing.T) {
	rt := newRuntime(t, Config{})
	path := tempPath(t)
	if err := os.WriteFile(path, []byte("four"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := openFile(t, rt, path)
	ro, err := rt.Open(path, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	ctx, err := rt.NewContext(2)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	for _, c := range []struct {
		name string
		cb   *IOCB
		want error
	}{
		{"no length, no buffer", &IOCB{Op: OpAllocate, File: f}, ErrBadLength},
		{"negative length", &IOCB{Op: OpAllocate, File: f, Length: -4096}, ErrBadLength},
		{"negative offset", &IOCB{Op: OpAllocate, File: f, Offset: -1, Length: 4096}, ErrNegativeOffset},
		{"end overflows", &IOCB{Op: OpAllocate, File: f, Offset: math.MaxInt64 - 10, Length: 4096}, ErrOffsetOverflow},
		{"read-only handle", &IOCB{Op: OpAllocate, File: ro, Length: 4096}, ErrReadOnly},
	} {
		if n, err := ctx.Submit(c.cb); n != 0 || !errors.Is(err, c.want) {
			t.Errorf("%s: Submit %d, %v; want 0, %v", c.name, n, err, c.want)
		}
	}
	if f.Size() != 4 {
		t.Fatalf("Size %d after refused allocations", f.Size())
	}
	checkDiskSize(t, path, 4, "after refused allocations")
}
