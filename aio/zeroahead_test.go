package aio

import (
	"bytes"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/iomap"
)

// tailTypes appends past the first append-ahead step, with or without a
// SyncData after each append, and returns the kind of storage the kernel
// reports past the logical size (FIEMAP through a map of its own).
func tailTypes(t *testing.T, syncData bool) (iomap.Type, Stats) {
	rt := newRuntime(t, Config{})
	path := tempPath(t)
	f := openFile(t, rt, path)
	rec := AlignedBuffer(4096)
	for i := range rec {
		rec[i] = byte(i*7 + 1)
	}
	const n = 300 // 1.2 MiB: past the first 1 MiB step
	for i := range n {
		if _, err := f.WriteAt(rec, int64(i)*4096); err != nil {
			t.Fatal(err)
		}
		if syncData {
			if err := f.SyncData(); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := make([]byte, 4096)
	for _, i := range []int{0, 255, 256, n - 1} {
		if _, err := f.ReadAt(got, int64(i)*4096); err != nil || !bytes.Equal(got, rec) {
			t.Fatalf("record %d read back wrong: %v", i, err)
		}
	}
	fd, err := unix.Open(path, unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	m, err := iomap.NewFile(fd)
	if err != nil {
		t.Fatal(err)
	}
	if m.Policy().Growth != iomap.GrowAhead {
		t.Skipf("the filesystem's policy grows files by writing (btrfs): nothing is preallocated ahead")
	}
	_, kernel := m.Sizes()
	if kernel <= n*4096 {
		t.Fatalf("the kernel's size %d: no append-ahead past the %d bytes written", kernel, n*4096)
	}
	tail, _, err := m.Begin(n*4096, 4096, 0)
	if err != nil {
		t.Fatal(err)
	}
	return tail.Type, rt.Stats()
}

// TestLogGetsZerosAhead: a file synced with SyncData as it grows gets its
// append-ahead written with zeros, so that each commit is an overwrite
// (its fdatasync converts no unwritten extent): append + SyncData went
// from 0.67-0.71x pwrite + fdatasync to 1.2x (BenchmarkWAL). A file not
// synced so keeps fallocate'd (unwritten) space ahead, which costs no
// writes. Before, both had unwritten space ahead.
func TestLogGetsZerosAhead(t *testing.T) {
	if testBackend() != BackendIOUring && os.Getenv("NOWAIT_BACKEND") == "" {
		t.Log("runs on the fallback backend too: the extension is the workers'")
	}
	typ, st := tailTypes(t, true)
	if typ != iomap.TypeMapped || st.ZeroedAhead == 0 {
		t.Errorf("after append + SyncData the tail is %v (%d bytes zeroed ahead); want written zeros", typ, st.ZeroedAhead)
	}
	typ, st = tailTypes(t, false)
	if typ != iomap.TypeUnwritten || st.ZeroedAhead != 0 {
		t.Errorf("appends without SyncData: the tail is %v (%d bytes zeroed ahead); want unwritten", typ, st.ZeroedAhead)
	}
}

// TestLogZerosAheadCutBack: Sync and Close still cut the zeroed tail back
// to the logical size, and the file reopens with exactly what was written.
func TestLogZerosAheadCutBack(t *testing.T) {
	rt := newRuntime(t, Config{})
	path := tempPath(t)
	f := openFile(t, rt, path)
	rec := bytes.Repeat([]byte{0xAB}, 4096)
	for i := range 300 {
		if _, err := f.WriteAt(rec, int64(i)*4096); err != nil {
			t.Fatal(err)
		}
		if err := f.SyncData(); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Size() != 300*4096 {
		t.Fatalf("after Sync: size %v, %v; want %d", st.Size(), err, 300*4096)
	}
	if _, err := f.WriteAt(rec, 300*4096); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil || len(data) != 301*4096 || !bytes.Equal(data[len(data)-4096:], rec) || !bytes.Equal(data[:4096], rec) {
		t.Fatalf("after Close: %d bytes, %v; want %d of the records", len(data), err, 301*4096)
	}
}
