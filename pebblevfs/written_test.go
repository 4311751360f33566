package pebblevfs

import (
	"bytes"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestWrittenDataReadFromMemory: with WrittenCache, reads of an
// sstable's last-written bytes come from memory (no read reaches the
// runtime), reads of what was evicted from the device, both with the
// file's bytes; a removed file's data is gone, and a file made anew (its
// inode number may come back) reads its own bytes.
func TestWrittenDataReadFromMemory(t *testing.T) {
	const budget = 1 << 20
	rt, nfs := newFSWith(t, Options{WrittenCache: budget})
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(5, 5))
	name := filepath.Join(dir, "000013.sst")
	want := writeFile(t, nfs, name, randBytes(rng, 3<<20+5000))
	r, err := nfs.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	reads := func() uint64 { st := rt.Stats(); return st.FastReads + st.SlowReads }
	check := func(off, n int, fromMemory bool) {
		t.Helper()
		before := reads()
		p := make([]byte, n)
		if got, err := r.ReadAt(p, int64(off)); got != n || err != nil || !bytes.Equal(p, want[off:off+n]) {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v, or not the file's bytes", n, off, got, err)
		}
		if memory := reads() == before; memory != fromMemory {
			t.Errorf("ReadAt(%d bytes at %d): from memory %v, want %v", n, off, memory, fromMemory)
		}
	}
	// Kept for sure: the last flush's bytes (from the last full buffer's
	// end on), kept after every write in flight completed. The full
	// buffers before them are kept in the order their writes completed,
	// which may not be the file's: only the start is surely evicted.
	last := len(want) / gatherSize * gatherSize
	for range 50 {
		n := 1 + rng.IntN(len(want)-last)
		check(last+rng.IntN(len(want)-last-n+1), n, true)
	}
	check(1000, 4096, false)
	if err := nfs.Remove(name); err != nil {
		t.Fatal(err)
	}
	want = writeFile(t, nfs, name, randBytes(rng, 100000))
	r2, err := nfs.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	p := make([]byte, len(want))
	if n, err := r2.ReadAt(p, 0); n != len(want) || err != nil || !bytes.Equal(p, want) {
		t.Fatalf("the file made anew reads %d bytes, %v, or another file's bytes", n, err)
	}
}

// writeFile creates name on fs with data, in sstable-sized Writes, and
// syncs and closes it.
func writeFile(t *testing.T, fs vfs.FS, name string, data []byte) []byte {
	t.Helper()
	f, err := fs.Create(name, vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(data); off += 4000 {
		if _, err := f.Write(data[off:min(off+4000, len(data))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return data
}

// TestKeptDataDroppedWithItsFile: the data kept of a file goes when the
// file is removed, renamed over, or removed with its directory, so that
// an inode number that comes back never reads another file's bytes.
func TestKeptDataDroppedWithItsFile(t *testing.T) {
	_, nfs := newFSWith(t, Options{WrittenCache: 8 << 20})
	fs := nfs.(*FS)
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(6, 6))
	kept := func(name string) inode {
		t.Helper()
		writeFile(t, nfs, name, randBytes(rng, 300000))
		info, err := vfs.Default.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		key := inodeOf(info)
		if len(fs.recent.files[key]) == 0 {
			t.Fatalf("%s: nothing kept after writing it", name)
		}
		return key
	}
	gone := func(what string, key inode) {
		t.Helper()
		fs.recent.mu.RLock()
		defer fs.recent.mu.RUnlock()
		if len(fs.recent.files[key]) != 0 {
			t.Errorf("after %s, the file's data is still kept", what)
		}
	}
	a := filepath.Join(dir, "000021.sst")
	key := kept(a)
	if err := nfs.Remove(a); err != nil {
		t.Fatal(err)
	}
	gone("Remove", key)

	key = kept(a)
	b := filepath.Join(dir, "000022.sst")
	kept(b)
	if err := nfs.Rename(b, a); err != nil {
		t.Fatal(err)
	}
	gone("a Rename over it", key)

	kept(filepath.Join(dir, "000023.sst"))
	if err := nfs.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if fs.recent.used != 0 || len(fs.recent.files) != 0 {
		t.Errorf("after RemoveAll: %d bytes of %d files kept, want none", fs.recent.used, len(fs.recent.files))
	}
}
