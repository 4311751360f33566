package ring

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestFiemapClassifiesRanges builds a file of written, fallocate'd and hole
// ranges on ext4 and checks what FIEMAP says of each.
func TestFiemapClassifiesRanges(t *testing.T) {
	f, _ := directFile(t)
	fd := int(f.Fd())
	buf := alignedBuf(t, 64<<10)
	fillRandom(buf, 1)
	// [0, 64K) written, [64K, 128K) hole, [128K, 192K) unwritten.
	if _, err := f.WriteAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fallocate(fd, 0, 128<<10, 64<<10); err != nil {
		t.Fatal(err)
	}
	ext := make([]FiemapExtent, 8)
	n, err := Fiemap(fd, 0, 1<<30, FiemapFlagSync, ext)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("%d extents %+v, want 2", n, ext[:n])
	}
	if e := ext[0]; e.Logical != 0 || e.Length != 64<<10 || e.Flags&FiemapExtentUnwritten != 0 {
		t.Errorf("first extent %+v, want written [0, 64K)", e)
	}
	if e := ext[1]; e.Logical != 128<<10 || e.Length != 64<<10 || e.Flags&FiemapExtentUnwritten == 0 || e.Flags&FiemapExtentLast == 0 {
		t.Errorf("second extent %+v, want the last, unwritten, [128K, 192K)", e)
	}
	if _, err := Fiemap(-1, 0, 1, 0, ext); err == nil {
		t.Error("Fiemap of fd -1 succeeded")
	}
}

// TestFSBlockSize checks FIGETBSZ against statfs's f_bsize, which names the
// same block on the filesystems the tests run on, and a descriptor that
// is not a file against its error.
func TestFSBlockSize(t *testing.T) {
	f, _ := directFile(t)
	got, err := FSBlockSize(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	if got != st.Bsize {
		t.Errorf("FIGETBSZ %d, statfs f_bsize %d", got, st.Bsize)
	}
	if _, err := FSBlockSize(-1); err == nil {
		t.Error("FIGETBSZ on fd -1 succeeded")
	}
}
