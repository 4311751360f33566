package aio

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestBlockDevice runs the File API on a real block device (a loop
// device): the identity map, its size fixed, unaligned writes through
// read-modify-write of its sectors, and two device nodes of one disk
// sharing one state.
func TestBlockDevice(t *testing.T) {
	const size = 16 << 20
	dev := loopDevice(t, size)
	rt := newRuntime(t, Config{})
	f, err := rt.Open(dev, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Size() != size {
		t.Fatalf("Size %d, want %d", f.Size(), size)
	}
	aligned := AlignedBuffer(8192)
	for i := range aligned {
		aligned[i] = byte(i * 7)
	}
	if _, err := f.WriteAt(aligned, 65536); err != nil {
		t.Fatal(err)
	}
	odd := bytes.Repeat([]byte("device"), 100)
	if _, err := f.WriteAt(odd, 65536+1001); err != nil {
		t.Fatalf("unaligned write: %v", err)
	}
	want := bytes.Clone(aligned)
	copy(want[1001:], odd)
	got := make([]byte, len(want))
	if _, err := f.ReadAt(got, 65536); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read back: %v (first difference at %d)", err, firstDiff(got, want))
	}
	// The end is fixed: a write past it fails, a read at it is the end.
	if _, err := f.WriteAt(aligned, size-4096); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("write across the device's end: %v, want ENOSPC", err)
	}
	if n, err := f.ReadAt(got, size-100); n != 100 || err == nil {
		t.Errorf("read across the end: %d, %v; want 100 and io.EOF", n, err)
	}
	if err := f.Truncate(4096); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("Truncate of a device: %v, want EINVAL", err)
	}
	if err := f.Allocate(0, 1<<20); err != nil {
		t.Errorf("Allocate on a device (all allocated already): %v", err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	// A second device node of the same disk is the same device: one state.
	var st unix.Stat_t
	if err := unix.Stat(dev, &st); err != nil {
		t.Fatal(err)
	}
	node := filepath.Join(t.TempDir(), "same-disk")
	if err := unix.Mknod(node, unix.S_IFBLK|0o600, int(st.Rdev)); err != nil {
		t.Skipf("mknod of a second node: %v", err)
	}
	g, err := rt.Open(node, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if g.ino != f.ino {
		t.Fatal("two nodes of one block device got two states")
	}
	if _, err := g.ReadAt(got, 65536); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read through the second node: %v", err)
	}
}
