package aio

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// spaceUsed is the filesystem's used bytes, after a syncfs (btrfs
// accounts freed and stranded extents when its transaction commits).
func spaceUsed(t *testing.T, dir string) int64 {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Syncfs(fd); err != nil {
		t.Fatal(err)
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Blocks-st.Bfree) * st.Bsize
}

// appendRecords writes records of random sizes (seeded: the same for
// every writer) at the end of a file through write, with a sync every
// 20 records, until total bytes are written.
func appendRecords(t *testing.T, total int64, write func(b []byte, off int64) error, sync func() error) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	buf := make([]byte, 256<<10)
	for i := range buf {
		buf[i] = byte(i*31 + 1)
	}
	for off, n := int64(0), 0; off < total; n++ {
		rec := buf[:1+rng.IntN(len(buf))]
		if err := write(rec, off); err != nil {
			t.Fatal(err)
		}
		off += int64(len(rec))
		if n%20 == 19 {
			if err := sync(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestAppendSpaceMatchesOSFile appends the same records, with the same
// syncs, through the runtime and through os.File, to files on each loop
// filesystem, and compares the space the filesystem uses for them: the
// runtime's append-ahead and cut-backs may not cost more than 10% above
// os.File's (on btrfs they doubled it: a preallocated extent stays whole
// on disk while any part of it is referenced).
func TestAppendSpaceMatchesOSFile(t *testing.T) {
	for _, fs := range loopFilesystems {
		t.Run(fs.name, func(t *testing.T) {
			dir := fs.mount(t)
			const total = 48 << 20
			measure := func(name string, run func(path string)) int64 {
				before := spaceUsed(t, dir)
				run(filepath.Join(dir, name))
				return spaceUsed(t, dir) - before
			}
			rt := newRuntime(t, Config{})
			viaOS := func(path string, total int64) {
				f, err := os.Create(path)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				appendRecords(t, total, func(b []byte, off int64) error { _, err := f.WriteAt(b, off); return err }, f.Sync)
			}
			viaRuntime := func(path string, total int64) {
				f := openFile(t, rt, path)
				defer f.Close()
				appendRecords(t, total, func(b []byte, off int64) error { _, err := f.WriteAt(b, off); return err }, f.Sync)
			}
			// One long log, and many files written whole and closed.
			patterns := []struct {
				name         string
				files, total int64
			}{{"one 48 MiB file", 1, 48 << 20}, {"24 files of 2 MB", 24, 2e6}}
			for pi, p := range patterns {
				var used [2]int64
				for i, write := range []func(string, int64){viaOS, viaRuntime} {
					used[i] = measure(fmt.Sprintf("p%d-w%d", pi, i), func(path string) {
						for k := range p.files {
							write(fmt.Sprintf("%s.%d", path, k), p.total)
						}
					})
				}
				ratio := float64(used[1]) / float64(used[0])
				t.Logf("%s, %s: os.File uses %.1f MiB, the runtime %.1f MiB (%.2fx)",
					fs.name, p.name, float64(used[0])/(1<<20), float64(used[1])/(1<<20), ratio)
				if ratio > 1.10 {
					t.Errorf("%s: the runtime uses %d bytes, %.2fx os.File's %d", p.name, used[1], ratio, used[0])
				}
			}
		})
	}
}
