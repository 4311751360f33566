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
		var f vfs.File
		var err error
		name := filepath.Join(dir, "000002.log")
		if reuse {
			name = filepath.Join(dir, "000005.log")
			f, err = nfs.ReuseForWrite(filepath.Join(dir, "000002.log"), name, vfs.WriteCategoryUnspecified)
		} else {
			f, err = nfs.Create(name, vfs.WriteCategoryUnspecified)
		}
		if err != nil {
			t.Fatal(err)
		}
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
		// A write stepping the size ahead zero-fills its last unit (RMW).
		if slow > extend || st.RMW-before.RMW > extend {
			t.Errorf("reused %v: %d commits sent %d writes to a worker (%d stepping the size ahead) and read or zeroed %d units; want none but the steps (Stats %+v)",
				reuse, n, slow, extend, st.RMW-before.RMW, st)
		}
		// Read through the runtime: a read through the page cache would
		// leave pages there that the next log's writes must drop (the
		// kernel refuses those RWF_NOWAIT).
		got := make([]byte, len(want))
		r, err := nfs.Open(name)
		if err == nil {
			_, err = r.ReadAt(got, 0)
			r.Close()
		}
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("reused %v: the log does not start with pebble's %d bytes (%v)", reuse, len(want), err)
		}
	}
}
