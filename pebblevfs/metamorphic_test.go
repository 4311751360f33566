package pebblevfs

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/cockroachdb/pebble/v2/metamorphic"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestMetamorphic runs pebble's own metamorphic test on the nowait FS:
// random options (metamorphic.RandomOptions) and random operations
// (GenerateOps) from one seed, executed once on pebble's in-memory FS and
// once on nowait in a real directory, and the two histories compared
// (metamorphic.CompareHistories, as pebble compares its runs).
//
// Seeds whose options want pebble's strict FS are passed over: strict
// mode restarts the database by taking a crash clone of its *vfs.MemFS,
// which only MemFS has; restarts are covered by the crash test instead.
//
// Every other seed runs on an FS that keeps the data it wrote last
// (Options.WrittenCache).
//
// NOWAIT_PEBBLE_SEEDS (default 4, 2 with -short) and NOWAIT_PEBBLE_OPS
// (default 2000, 1000 with -short) size the run; NOWAIT_PEBBLE_SEED sets
// the first seed (docs/reliability.md has the long run).
func TestMetamorphic(t *testing.T) {
	seeds, ops := envInt("NOWAIT_PEBBLE_SEEDS", 4), envInt("NOWAIT_PEBBLE_OPS", 2000)
	if testing.Short() {
		seeds, ops = envInt("NOWAIT_PEBBLE_SEEDS", 2), envInt("NOWAIT_PEBBLE_OPS", 1000)
	}
	seed := uint64(envInt("NOWAIT_PEBBLE_SEED", 1))
	rt, plain := newFS(t)
	kept := NewWith(rt, Options{WrittenCache: 4 << 20}) // every other seed
	for ran := 0; ran < seeds; seed++ {
		if strictOptions(seed) {
			continue
		}
		nfs := plain
		if ran%2 == 1 {
			nfs = kept
		}
		ran++
		t.Run("seed="+strconv.FormatUint(seed, 10), func(t *testing.T) {
			dir := t.TempDir()
			before := rt.Stats()
			mem := runMetamorphic(t, seed, ops, nil, "", filepath.Join(dir, "history-mem"))
			now := runMetamorphic(t, seed, ops, nfs, filepath.Join(dir, "db"), filepath.Join(dir, "history-nowait"))
			if i, diff := metamorphic.CompareHistories(t, []string{mem, now}); i != 0 {
				t.Fatalf("seed %d: pebble on nowait differs from pebble on its in-memory FS:\n%s", seed, diff)
			}
			after := rt.Stats()
			t.Logf("seed %d: %d operations; nowait wrote %d bytes, read %d, %d fast and %d slow writes, %d syncs",
				seed, ops, after.BytesWritten-before.BytesWritten, after.BytesRead-before.BytesRead,
				after.FastWrites-before.FastWrites, after.SlowWrites-before.SlowWrites, after.Syncs-before.Syncs)
			if after.BytesWritten == before.BytesWritten {
				t.Fatal("pebble wrote nothing through the runtime: the run was not on nowait")
			}
		})
	}
}

// generate draws the options and operations of seed, the same every time.
func generate(seed uint64, n int) (*metamorphic.TestOptions, metamorphic.Ops) {
	rng := rand.New(rand.NewPCG(0, seed))
	kf := metamorphic.TestkeysKeyFormat
	opts := metamorphic.RandomOptions(rng, kf, metamorphic.RandomOptionsCfg{})
	ops := metamorphic.GenerateOps(rng, uint64(n), kf, metamorphic.DefaultOpConfig())
	return opts, ops
}

// strictOptions reports whether seed's options ask for pebble's strict
// (crashable) in-memory FS.
func strictOptions(seed uint64) bool {
	opts, _ := generate(seed, 1)
	mem, ok := opts.Opts.FS.(*vfs.MemFS)
	return ok && crashable(mem)
}

// crashable reports whether mem was made by vfs.NewCrashableMem: only
// those can CrashClone (the others panic, which is the only way to tell).
func crashable(mem *vfs.MemFS) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	mem.CrashClone(vfs.CrashCloneCfg{})
	return true
}

// runMetamorphic executes seed's test with fs (nil: the in-memory FS the
// options came with) in dir, writing its history to historyPath.
func runMetamorphic(t *testing.T, seed uint64, n int, fs vfs.FS, dir, historyPath string) string {
	t.Helper()
	opts, ops := generate(seed, n)
	if fs != nil {
		opts.Opts.FS = fs
		if opts.Opts.WALFailover != nil {
			opts.Opts.WALFailover.Secondary.FS = fs
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	h, err := os.Create(historyPath)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	test, err := metamorphic.New(ops, opts, dir, h)
	if err != nil {
		t.Fatalf("seed %d: metamorphic.New: %v", seed, err)
	}
	if err := metamorphic.Execute(test); err != nil {
		t.Fatalf("seed %d on %T: %v", seed, opts.Opts.FS, err)
	}
	return historyPath
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
