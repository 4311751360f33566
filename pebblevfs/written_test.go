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
