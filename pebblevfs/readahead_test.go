package pebblevfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestSequentialReadsReadAhead: a handle opened with
// vfs.SequentialReadsOption (a compaction's input) reads a file front to
// back in a few large reads, not one per call, and gives pebble's bytes
// whatever the calls' sizes; reads out of sequence, at the end of the
// file and past it are answered as os.File answers them. Shown failing
// first: one read per call.
func TestSequentialReadsReadAhead(t *testing.T) {
	rt, nfs := newFS(t)
	name := filepath.Join(t.TempDir(), "000009.sst")
	rng := rand.New(rand.NewPCG(9, 9))
	want := randBytes(rng, 8<<20+1234)
	if err := os.WriteFile(name, want, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := nfs.Open(name, vfs.SequentialReadsOption)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	before := rt.Stats()
	calls := 0
	for off := 0; off < len(want); calls++ {
		p := make([]byte, 100+rng.IntN(8000))
		n, err := f.ReadAt(p, int64(off))
		if k := min(len(p), len(want)-off); n != k || !bytes.Equal(p[:n], want[off:off+k]) {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v; want pebble's %d bytes", len(p), off, n, err, k)
		}
		if (n < len(p)) != errors.Is(err, io.EOF) || (err != nil && !errors.Is(err, io.EOF)) {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v", len(p), off, n, err)
		}
		off += n
	}
	reads := rt.Stats().FastReads + rt.Stats().SlowReads - before.FastReads - before.SlowReads
	// 64 KiB doubling to 1 MiB: 4 growing windows, then 1 MiB ones.
	if max := uint64(8 + len(want)/raMax); reads > max {
		t.Errorf("%d calls reading %d bytes in sequence made %d reads; want at most %d", calls, len(want), reads, max)
	}
	for range 200 { // out of sequence, anywhere, past the end too
		off := rng.IntN(len(want) + 10000)
		p := make([]byte, 1+rng.IntN(20000))
		n, err := f.ReadAt(p, int64(off))
		k := max(0, min(len(p), len(want)-off))
		if n != k || (k > 0 && !bytes.Equal(p[:n], want[off:off+k])) || (n < len(p)) != errors.Is(err, io.EOF) {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v; want %d bytes", len(p), off, n, err, k)
		}
	}
}

// TestSequentialHandlesAtOnce: handles opened for sequential reads by
// many goroutines at once, each read front to back and closed (some
// mid-file, some twice), share the FS's buffers and contexts without
// mixing their bytes.
func TestSequentialHandlesAtOnce(t *testing.T) {
	_, nfs := newFS(t)
	dir := t.TempDir()
	files := make([][]byte, 4)
	for i := range files {
		files[i] = randBytes(rand.New(rand.NewPCG(uint64(i), 1)), 3<<20+i*777)
		if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(i)), files[i], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	errc := make(chan error, 16)
	for g := range 16 {
		go func() {
			rng := rand.New(rand.NewPCG(uint64(g), 2))
			var err error
			for round := 0; round < 5 && err == nil; round++ {
				i := rng.IntN(len(files))
				err = readFront(nfs, filepath.Join(dir, strconv.Itoa(i)), files[i], rng)
			}
			errc <- err
		}()
	}
	for range 16 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}

// readFront reads name front to back (or up to a random point) through a
// sequential handle, checks the bytes against want, and closes it.
func readFront(nfs vfs.FS, name string, want []byte, rng *rand.Rand) error {
	f, err := nfs.Open(name, vfs.SequentialReadsOption)
	if err != nil {
		return err
	}
	stop := len(want)
	if rng.IntN(2) == 0 {
		stop = rng.IntN(len(want))
	}
	for off := 0; off < stop; {
		p := make([]byte, 1+rng.IntN(40000))
		n, err := f.ReadAt(p, int64(off))
		if k := min(len(p), len(want)-off); n != k || !bytes.Equal(p[:n], want[off:off+n]) {
			f.Close()
			return fmt.Errorf("%s: ReadAt(%d bytes at %d) = %d, %v; want %d bytes of it", name, len(p), off, n, err, k)
		}
		off += n
	}
	if err := f.Close(); err != nil {
		return err
	}
	if rng.IntN(4) == 0 {
		f.Close() // a second Close is an error, and changes nothing
	}
	return nil
}
