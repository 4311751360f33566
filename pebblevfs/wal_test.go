package pebblevfs

import (
	"bytes"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestWALCommitsGoToTheRing: a write-ahead log's commits (a group of
// records of any size, then SyncData), in a new log and in one reused
// for a new log (ReuseForWrite, as pebble recycles them), reach the
// runtime as writes it sends straight to the ring: none goes to a worker
// or reads a block back, but the few that step the file's size ahead.
// The log holds pebble's bytes; what lies past them in a reused log is
// zeros or the old log's. Shown failing first: a reused log's commits
// each read a block back on a worker.
func TestWALCommitsGoToTheRing(t *testing.T) {
	rt, nfs := newFS(t)
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 7))
	commits := func(f vfs.File, n int) []byte {
		var want []byte
		for range n {
			for range 1 + rng.IntN(4) { // a group of records
				b := randBytes(rng, 50+rng.IntN(2000))
				want = append(want, b...)
				if _, err := f.Write(b); err != nil {
					t.Fatal(err)
				}
			}
			if err := f.SyncData(); err != nil {
				t.Fatal(err)
			}
		}
		return want
	}
	for _, reuse := range []bool{false, true} {
		f, name := openLog(t, nfs, dir, reuse)
		before := rt.Stats()
		n := 2000
		if reuse {
			n = 1000 // inside the old log
		}
		want := commits(f, n)
		st := rt.Stats()
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		slow, extend := st.SlowWrites-before.SlowWrites, st.SlowExtend-before.SlowExtend
		refused := st.KernelEAGAIN - before.KernelEAGAIN
		// A write stepping the size ahead zero-fills its last unit (RMW);
		// the kernel may refuse a write now and then (a worker redoes
		// it), the runtime sends none there itself.
		if slow > extend+refused || refused > uint64(n/50) || st.RMW-before.RMW > extend+refused {
			t.Errorf("reused %v: %d commits sent %d writes to a worker (%d stepping the size ahead, %d refused by the kernel) and read or zeroed %d units; want none but those (Stats %+v)",
				reuse, n, slow, extend, refused, st.RMW-before.RMW, st)
		}
		// Read through the runtime: a read through the page cache would
		// leave pages there that the next log's writes must drop (the
		// kernel refuses those RWF_NOWAIT).
		if got, err := readStart(nfs, name, len(want)); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("reused %v: the log does not start with pebble's %d bytes (%v)", reuse, len(want), err)
		}
	}
}

// TestSyncedWALWritesGoDSync: a WAL whose every write is followed by a
// Sync writes with RWF_DSYNC from the second commit on, and its Syncs
// then issue no fdatasync (the writes were durable when they completed);
// writes not followed by a Sync go without it, and the Sync after them
// does issue one.
func TestSyncedWALWritesGoDSync(t *testing.T) {
	rt, nfs := newFS(t)
	f, err := nfs.Create(filepath.Join(t.TempDir(), "000003.log"), vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rng := rand.New(rand.NewPCG(3, 3))
	commit := func(writes int) {
		t.Helper()
		for range writes {
			if _, err := f.Write(randBytes(rng, 100+rng.IntN(3000))); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.SyncData(); err != nil {
			t.Fatal(err)
		}
	}
	commit(1) // the first: a plain write, an fdatasync
	before := rt.Stats().Syncs
	for range 100 {
		commit(1)
	}
	if syncs := rt.Stats().Syncs - before; syncs != 0 {
		t.Errorf("100 commits of one write each: %d fdatasyncs, want 0 (the writes went with RWF_DSYNC)", syncs)
	}
	before = rt.Stats().Syncs
	commit(3) // not the pattern: plain writes, an fdatasync
	if syncs := rt.Stats().Syncs - before; syncs != 1 {
		t.Errorf("a commit of 3 writes: %d fdatasyncs, want 1", syncs)
	}
	// In the pattern again, a write (with RWF_DSYNC), then a WriteAt: a
	// plain write, which the Sync after them must make durable.
	commit(1)
	commit(1)
	before = rt.Stats().Syncs
	if _, err := f.Write(randBytes(rng, 100)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("over"), 10); err != nil {
		t.Fatal(err)
	}
	if err := f.SyncData(); err != nil {
		t.Fatal(err)
	}
	if syncs := rt.Stats().Syncs - before; syncs != 1 {
		t.Errorf("a write, a WriteAt, then SyncData: %d fdatasyncs, want 1", syncs)
	}
}

// TestNoSyncWALWritesGoBehind: a log written without syncs (pebble's
// NoSync commits) sends every write behind the writer, in a new log and
// in a reused one, and holds pebble's bytes when it closes: writes that
// rewrite the block the last one ended in wait for it, never land out of
// order. Shown failing first: every write waited for the device (none
// sent behind).
func TestNoSyncWALWritesGoBehind(t *testing.T) {
	_, nfs := newFS(t)
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(9, 9))
	for _, reuse := range []bool{false, true} {
		f, name := openLog(t, nfs, dir, reuse)
		var want []byte
		writes := 0
		for len(want) < 4<<20 {
			size := 32 << 10 // a whole block of pebble's log
			if rng.IntN(2) == 0 {
				size = 1 + rng.IntN(8000) // a block's tail, or a group's records
			}
			b := randBytes(rng, size)
			want = append(want, b...)
			if _, err := f.Write(b); err != nil {
				t.Fatal(err)
			}
			writes++
		}
		sent := 0
		if wb := f.(*file).g.wb; wb != nil {
			sent = wb.sent
		}
		if sent != writes {
			t.Errorf("reused %v: %d of %d writes went behind the writer", reuse, sent, writes)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if got, err := readStart(nfs, name, len(want)); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("reused %v: the log read back (%v) does not start with the %d bytes written", reuse, err, len(want))
		}
	}
}

// openLog creates a log in dir, 000002.log, or (reuse) renames that one
// to 000005.log for a new log, as pebble recycles them.
func openLog(t *testing.T, nfs vfs.FS, dir string, reuse bool) (vfs.File, string) {
	t.Helper()
	name := filepath.Join(dir, "000002.log")
	var f vfs.File
	var err error
	if reuse {
		name = filepath.Join(dir, "000005.log")
		f, err = nfs.ReuseForWrite(filepath.Join(dir, "000002.log"), name, vfs.WriteCategoryUnspecified)
	} else {
		f, err = nfs.Create(name, vfs.WriteCategoryUnspecified)
	}
	if err != nil {
		t.Fatal(err)
	}
	return f, name
}

// readStart reads the first n bytes of name through nfs.
func readStart(nfs vfs.FS, name string, n int) ([]byte, error) {
	got := make([]byte, n)
	r, err := nfs.Open(name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	_, err = r.ReadAt(got, 0)
	return got, err
}
