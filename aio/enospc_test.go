package aio

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// spaceFilesystems are small loop filesystems the tests fill to the last
// block: ext4 raises the file's size even when a fallocate fails for want
// of space, which is what the runtime must notice.
var spaceFilesystems = []loopFS{
	{name: "ext4-32m", mkfs: []string{"mkfs.ext4", "-q", "-F"}, size: 32 << 20},
	{name: "ext4-1k-32m", mkfs: []string{"mkfs.ext4", "-q", "-F", "-b", "1024"}, size: 32 << 20},
}

// TestENOSPCKeepsExactSize fills a real filesystem with unaligned writes
// through the runtime until the space runs out: every failure is ENOSPC,
// reported to its own request; nothing acknowledged is lost; a failed
// Allocate and the failed writes leave the file's size exactly where the
// acknowledged writes put it, in Size and on disk after Sync; and once
// space is freed the same handle writes again.
func TestENOSPCKeepsExactSize(t *testing.T) {
	for _, fs := range spaceFilesystems {
		for _, syncData := range []bool{false, true} {
			name := fs.name
			if syncData {
				name += "-syncdata" // a log: its append-ahead is written with zeros
			}
			t.Run(name, func(t *testing.T) { enospcKeepsExactSize(t, fs, syncData) })
		}
	}
}

func enospcKeepsExactSize(t *testing.T, fs loopFS, syncData bool) {
	dir := fs.mount(t)
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	rt := newRuntime(t, Config{})
	path := filepath.Join(dir, "data")
	f := openFile(t, rt, path)
	var want []byte
	failures := fillUntilENOSPC(t, f, &want, 0, syncData)
	if failures == 0 {
		t.Fatal("the filesystem never ran out of space")
	}
	if z := rt.Stats().ZeroedAhead; syncData != (z > 0) {
		t.Errorf("%d bytes zeroed ahead with SyncData %v: the case meant is not the one played", z, syncData)
	}
	// Synced first, the kernel's size is the logical size: a
	// failed Allocate must not leave it above.
	checkSizeAfterSync(t, f, path, int64(len(want)), "after ENOSPC")
	if err := f.Allocate(f.Size(), 16<<20); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Allocate of 16 MiB on a full filesystem: %v, want ENOSPC", err)
	}
	checkSizeAfterSync(t, f, path, int64(len(want)), "after a failed Allocate")
	if _, err := f.WriteAt(make([]byte, 1<<20), int64(len(want))); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("1 MiB append on a full filesystem: %v, want ENOSPC", err)
	}
	checkSizeAfterSync(t, f, path, int64(len(want)), "after a failed append")
	// Space freed: the same handle goes on writing.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	rec := bytes.Repeat([]byte{0x77}, 70000)
	if _, err := f.WriteAt(rec, int64(len(want))); err != nil {
		t.Fatalf("write after space was freed: %v", err)
	}
	want = append(want, rec...)
	checkSizeAfterSync(t, f, path, int64(len(want)), "after space was freed")
	closeAndCheckDisk(t, f, path, want)
}

// fillUntilENOSPC appends unaligned records to f (WriteAt at its size)
// until three in a row fail, adding what was acknowledged to want, and
// returns how many failed. Every failure must be ENOSPC.
// With syncData, each acknowledged write is followed by SyncData.
func fillUntilENOSPC(t *testing.T, f *File, want *[]byte, seed int, syncData bool) int {
	t.Helper()
	failures, inRow := 0, 0
	for i := 0; inRow < 3 && len(*want) < 64<<20; i++ {
		rec := make([]byte, 65536+1000+i%7*513)
		for k := range rec {
			rec[k] = pattern(seed+i, int64(k))
		}
		off := int64(len(*want))
		n, err := f.WriteAt(rec, off)
		if err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("write %d at %d: %v, want ENOSPC", i, off, err)
			}
			failures++
			inRow++
			continue
		}
		if n != len(rec) {
			t.Fatalf("write %d: %d of %d bytes and no error", i, n, len(rec))
		}
		inRow = 0
		*want = append(*want, rec...)
		if syncData {
			if err := f.SyncData(); err != nil {
				t.Fatalf("SyncData after write %d: %v", i, err)
			}
		}
	}
	return failures
}

// checkSizeAfterSync syncs f and checks its size, in Size and on disk.
func checkSizeAfterSync(t *testing.T, f *File, path string, want int64, when string) {
	t.Helper()
	if err := f.Sync(); err != nil {
		t.Fatalf("Sync %s: %v", when, err)
	}
	if got := f.Size(); got != want {
		t.Errorf("Size %s: %d, want %d", when, got, want)
	}
	checkDiskSize(t, path, want, when)
}

// TestSparseWriteStaysSparse: a write far past the end allocates around
// itself, not the gap, as os.File's does: 4 KiB at 1 GiB on a 32 MiB
// filesystem succeeds and takes a few blocks, and the gap reads as zeros.
func TestSparseWriteStaysSparse(t *testing.T) {
	dir := spaceFilesystems[0].mount(t)
	rt := newRuntime(t, Config{})
	path := filepath.Join(dir, "sparse")
	f := openFile(t, rt, path)
	head := bytes.Repeat([]byte{0x11}, 5000)
	if _, err := f.WriteAt(head, 0); err != nil {
		t.Fatal(err)
	}
	far := bytes.Repeat([]byte{0x22}, 4096)
	for _, off := range []int64{1 << 30, 1<<30 + 12345, 64 << 30} {
		if _, err := f.WriteAt(far, off); err != nil {
			t.Fatalf("4 KiB at %d on a 32 MiB filesystem: %v (os.File makes a sparse file)", off, err)
		}
	}
	end := int64(64<<30) + 4096
	checkSizeAfterSync(t, f, path, end, "after sparse writes")
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	if used := st.Blocks * 512; used > 4<<20 {
		t.Errorf("the sparse file uses %d bytes of storage, want a few blocks", used)
	}
	gap := make([]byte, 8192)
	if _, err := f.ReadAt(gap, 1<<29); err != nil || !bytes.Equal(gap, make([]byte, 8192)) {
		t.Errorf("read in the gap: %v, not zeros", err)
	}
	got := make([]byte, 4096)
	if _, err := f.ReadAt(got, 1<<30+12345); err != nil || !bytes.Equal(got, far) {
		t.Errorf("read back at 1 GiB + 12345: %v", err)
	}
}
