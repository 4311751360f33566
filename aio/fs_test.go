package aio

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestReopenWrittenOutside opens files that plain os calls wrote, on every
// loop filesystem, and writes into them at offsets around the old end and
// the filesystem's blocks: every byte written before must stay, and the
// gap must read as zeros. (On XFS with 1 KiB blocks the runtime took
// statx's preferred I/O size, 4096, for the block and zero-filled a whole
// "unit" over the file's first 1000 bytes.)
func TestReopenWrittenOutside(t *testing.T) {
	for _, fs := range loopFilesystems {
		t.Run(fs.name, func(t *testing.T) {
			dir := fs.mount(t)
			rt := newRuntime(t, Config{})
			cases := []struct{ old, off, n int }{
				{1000, 3000, 7}, {1000, 1000, 7}, {1000, 1020, 10}, {1000, 500, 3000},
				{5000, 6000, 100}, {5000, 4096, 1}, {1024, 2048, 10}, {70000, 131000, 5},
			}
			for i, c := range cases {
				name := filepath.Join(dir, fmt.Sprintf("f%d", i))
				old := make([]byte, c.old)
				for p := range old {
					old[p] = pattern(i, int64(p))
				}
				if err := os.WriteFile(name, old, 0o644); err != nil {
					t.Fatal(err)
				}
				f, err := rt.Open(name, os.O_RDWR, 0)
				if err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					checkBlockSize(t, f)
				}
				add := bytes.Repeat([]byte{0xEE}, c.n)
				if _, err := f.WriteAt(add, int64(c.off)); err != nil {
					t.Fatalf("%+v: WriteAt: %v", c, err)
				}
				want := make([]byte, max(c.old, c.off+c.n))
				copy(want, old)
				copy(want[c.off:], add)
				t.Logf("case %+v", c) // named in the output if the check below fails
				closeAndCheckDisk(t, f, name, want)
			}
		})
	}
}

// checkBlockSize checks that the runtime took the filesystem's block
// (statfs f_bsize names it on these filesystems) for f's unit of
// allocation and zeroing.
func checkBlockSize(t *testing.T, f *File) {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(f.name, &st); err != nil {
		t.Fatal(err)
	}
	if got := f.ino.Prov.BlockSize(); got != st.Bsize {
		t.Errorf("block size %d, the filesystem's is %d", got, st.Bsize)
	}
}

// TestReopenOverDirtyCache opens a file whose preallocated (unwritten)
// storage holds another program's buffered writes, not yet written back:
// the extents still say "unwritten", but the file reads as that data.
// An unaligned write beside it must keep it. (The runtime read FIEMAP
// without syncing, took "unwritten" for zeros and zero-filled the edge
// over the data; found by TestFSX writing outside the runtime.)
func TestReopenOverDirtyCache(t *testing.T) {
	dirs := []struct{ name, dir string }{{"tmpdir", t.TempDir()}}
	for _, fs := range loopFilesystems {
		dirs = append(dirs, struct{ name, dir string }{fs.name, ""})
	}
	for _, d := range dirs {
		t.Run(d.name, func(t *testing.T) {
			dir := d.dir
			if dir == "" {
				dir = loopFilesystemNamed(d.name).mount(t)
			}
			path := filepath.Join(dir, "f")
			w, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			if err := unix.Fallocate(int(w.Fd()), 0, 0, 256<<10); err != nil {
				w.Close()
				t.Skipf("%s: no fallocate: %v", d.name, err)
			}
			want := make([]byte, 256<<10)
			old := bytes.Repeat([]byte{0xAB}, 30000)
			if _, err := w.WriteAt(old, 100000); err != nil {
				t.Fatal(err)
			}
			copy(want[100000:], old)
			w.Close() // no fsync: the data sits in the page cache
			rt := newRuntime(t, Config{})
			f, err := rt.Open(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			add := bytes.Repeat([]byte{0xCD}, 5000)
			if _, err := f.WriteAt(add, 95001); err != nil {
				t.Fatal(err)
			}
			copy(want[95001:], add)
			closeAndCheckDisk(t, f, path, want)
		})
	}
}

// loopFilesystemNamed is the entry of loopFilesystems called name.
func loopFilesystemNamed(name string) loopFS {
	for _, fs := range loopFilesystems {
		if fs.name == name {
			return fs
		}
	}
	panic("no loop filesystem " + name)
}

// closeAndCheckDisk closes f and checks the file on disk, read with plain
// os calls, against want.
func closeAndCheckDisk(t *testing.T, f *File, path string, want []byte) {
	t.Helper()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("on disk %d bytes, want %d; first difference at %d", len(got), len(want), firstDiff(got, want))
	}
}
