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

	"github.com/nowaitio/nowait/aio"
)

func newFS(t testing.TB) (*aio.Runtime, vfs.FS) { return newFSWith(t, Options{}) }

func newFSWith(t testing.TB, opts Options) (*aio.Runtime, vfs.FS) {
	t.Helper()
	rt, err := aio.New(aio.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt, NewWith(rt, opts)
}

// pair is one file opened the same way on the nowait FS and on
// vfs.Default, in two directories.
type pair struct{ a, b vfs.File }

// TestAgreesWithDefault: random sequences of what pebble does to a file
// (sequential writes of any size, syncs, Stat, positional and sequential
// reads, reopening read-only and read-write, WriteAt) give the same bytes,
// sizes and errors on the nowait FS as on vfs.Default: for files that
// gather their writes (odd seeds) and for the write-ahead log's kind,
// written through (even seeds, *.log).
func TestAgreesWithDefault(t *testing.T) {
	// With the written data kept too, in less memory than a file: kept,
	// evicted, dropped when the file is made again.
	for _, opts := range []Options{{}, {WrittenCache: 300 << 10}} {
		t.Run(fmt.Sprintf("WrittenCache=%d", opts.WrittenCache), func(t *testing.T) {
			_, nfs := newFSWith(t, opts)
			agreesWithDefault(t, nfs)
		})
	}
}

func agreesWithDefault(t *testing.T, nfs vfs.FS) {
	seeds := 20
	if testing.Short() {
		seeds = 5
	}
	for seed := range seeds {
		rng := rand.New(rand.NewPCG(1, uint64(seed)))
		dirA, dirB := t.TempDir(), t.TempDir()
		base := map[bool]string{true: "f.log", false: "f.sst"}[seed%2 == 0]
		open := func(how int) pair {
			var p pair
			var errA, errB error
			nameA, nameB := filepath.Join(dirA, base), filepath.Join(dirB, base)
			switch how {
			case 0:
				p.a, errA = nfs.Create(nameA, vfs.WriteCategoryUnspecified)
				p.b, errB = vfs.Default.Create(nameB, vfs.WriteCategoryUnspecified)
			case 1:
				p.a, errA = nfs.Open(nameA)
				p.b, errB = vfs.Default.Open(nameB)
			default:
				p.a, errA = nfs.OpenReadWrite(nameA, vfs.WriteCategoryUnspecified)
				p.b, errB = vfs.Default.OpenReadWrite(nameB, vfs.WriteCategoryUnspecified)
			}
			if errA != nil || errB != nil {
				t.Fatalf("seed %d: open %d: %v / %v", seed, how, errA, errB)
			}
			return p
		}
		p, how := open(0), 0
		for step := range 200 {
			where := func() string { return "seed " + strconv.Itoa(seed) + " step " + strconv.Itoa(step) }
			switch op := rng.IntN(10); {
			case op < 4 && how != 1: // sequential write, WAL records to sstable blocks
				buf := randBytes(rng, sizeOf(rng))
				na, ea := p.a.Write(bytes.Clone(buf))
				nb, eb := p.b.Write(buf)
				if na != nb || (ea == nil) != (eb == nil) {
					t.Fatalf("%s: Write %d: %d, %v; default %d, %v", where(), len(buf), na, ea, nb, eb)
				}
			case op == 4 && how == 2:
				buf := randBytes(rng, sizeOf(rng))
				off := rng.Int64N(sizeNow(t, p.b) + 1)
				na, ea := p.a.WriteAt(bytes.Clone(buf), off)
				nb, eb := p.b.WriteAt(buf, off)
				if na != nb || (ea == nil) != (eb == nil) {
					t.Fatalf("%s: WriteAt %d at %d: %d, %v; default %d, %v", where(), len(buf), off, na, ea, nb, eb)
				}
			case op == 5:
				if how != 1 {
					ea, eb := p.a.Sync(), p.b.Sync()
					if ea != nil || eb != nil {
						t.Fatalf("%s: Sync: %v / %v", where(), ea, eb)
					}
				}
				fa, ea := nfs.Stat(filepath.Join(dirA, base))
				fb, eb := vfs.Default.Stat(filepath.Join(dirB, base))
				if ea != nil || eb != nil || fa.Size() != fb.Size() {
					t.Fatalf("%s: FS.Stat: %v, %v; default %v, %v", where(), fa, ea, fb, eb)
				}
			case op == 6:
				size := sizeNow(t, p.b)
				n := sizeOf(rng)
				off := rng.Int64N(size + 2)
				ba, bb := make([]byte, n), make([]byte, n)
				na, ea := p.a.ReadAt(ba, off)
				nb, eb := p.b.ReadAt(bb, off)
				if na != nb || !errors.Is(ea, io.EOF) != !errors.Is(eb, io.EOF) || !bytes.Equal(ba[:na], bb[:nb]) {
					t.Fatalf("%s: ReadAt %d at %d of %d: %d, %v; default %d, %v (same bytes: %v)", where(), n, off, size, na, ea, nb, eb, bytes.Equal(ba[:na], bb[:nb]))
				}
			case op == 7:
				sa, ea := p.a.Stat()
				sb, eb := p.b.Stat()
				if ea != nil || eb != nil || sa.Size() != sb.Size() || sa.Mode() != sb.Mode() {
					t.Fatalf("%s: File.Stat: %v %v; default %v %v", where(), sa, ea, sb, eb)
				}
				// By name, unsynced: the size written, not the kernel's
				// (which runs ahead by the append-ahead step).
				fa, ea := nfs.Stat(filepath.Join(dirA, base))
				fb, eb := vfs.Default.Stat(filepath.Join(dirB, base))
				if ea != nil || eb != nil || fa.Size() != fb.Size() {
					t.Fatalf("%s: FS.Stat before a sync: %d, %v; default %d, %v", where(), fa.Size(), ea, fb.Size(), eb)
				}
			case op == 8: // reopen: read it all sequentially, as the WAL and MANIFEST readers do
				closePair(t, p)
				how = rng.IntN(3)
				if how == 0 {
					how = 1
				}
				p = open(how)
				ra, ea := io.ReadAll(struct{ io.Reader }{p.a})
				rb, eb := io.ReadAll(struct{ io.Reader }{p.b})
				if ea != nil || eb != nil || !bytes.Equal(ra, rb) {
					t.Fatalf("%s: read back after reopening (%d): %d bytes, %v; default %d, %v", where(), how, len(ra), ea, len(rb), eb)
				}
			}
		}
		closePair(t, p)
		a, _ := os.ReadFile(filepath.Join(dirA, base))
		b, _ := os.ReadFile(filepath.Join(dirB, base))
		if !bytes.Equal(a, b) {
			t.Fatalf("seed %d: the files differ on disk after Close: %d and %d bytes", seed, len(a), len(b))
		}
	}
}

func closePair(t *testing.T, p pair) {
	t.Helper()
	if ea, eb := p.a.Close(), p.b.Close(); ea != nil || eb != nil {
		t.Fatalf("Close: %v / %v", ea, eb)
	}
}

func sizeNow(t *testing.T, f vfs.File) int64 {
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// sizeOf picks a length as pebble writes them: small records mostly, some
// blocks, now and then a large flush.
func sizeOf(rng *rand.Rand) int {
	switch rng.IntN(4) {
	case 0:
		return 1 + rng.IntN(200)
	case 1:
		return 1 + rng.IntN(5000)
	case 2:
		return 4096 * (1 + rng.IntN(8))
	}
	return 1 + rng.IntN(300<<10)
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// TestGatheredWritesAreAligned: an sstable's writes (blocks of any size,
// one after another) reach the runtime as whole aligned writes, which it
// sends straight to the ring, and Sync adds at most one write for the
// partial block at the end; the bytes are pebble's. Written through, each
// unaligned block was a read-modify-write on a worker.
func TestGatheredWritesAreAligned(t *testing.T) {
	rt, nfs := newFS(t)
	name := filepath.Join(t.TempDir(), "000007.sst")
	f, err := nfs.Create(name, vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	var want []byte
	before := rt.Stats()
	for range 1000 {
		b := randBytes(rng, 3000+rng.IntN(2000))
		want = append(want, b...)
		if _, err := f.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	st := rt.Stats()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	// A whole write that reaches past the kernel's size goes to a worker
	// too, which preallocates the next append-ahead step (SlowExtend):
	// those are aligned, and read nothing back.
	fast, slow := st.FastWrites-before.FastWrites, st.SlowWrites-before.SlowWrites
	extend := st.SlowExtend - before.SlowExtend
	if whole := uint64(len(want) / gatherSize); fast+extend < whole || slow-extend > 1 {
		t.Errorf("%d bytes in 1000 writes reached the runtime as %d fast and %d slow writes (%d extending the file), want %d whole writes and at most 1 other (Stats %+v)",
			len(want), fast, slow, extend, whole, st)
	}
	got, err := os.ReadFile(name)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the file after Sync and Close: %d bytes, %v; want pebble's %d", len(got), err, len(want))
	}
}
