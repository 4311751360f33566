package pebblevfs

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestWriteBehindFailureIsNeverLost: writes in flight that fail (a full
// filesystem: a 2 MiB tmpfs) are returned by a later Write or by Sync,
// and by every Sync and the Close after it; none reports success.
func TestWriteBehindFailureIsNeverLost(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("needs root to mount a small tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	_, nfs := newFS(t)
	f, err := nfs.Create(filepath.Join(dir, "000011.sst"), vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	block := make([]byte, 64<<10)
	var first error
	for i := 0; i < 64 && first == nil; i++ { // 4 MiB into 2 MiB
		_, first = f.Write(block)
	}
	if first == nil {
		first = f.Sync()
	}
	if !errors.Is(first, syscall.ENOSPC) {
		t.Fatalf("4 MiB written into a 2 MiB filesystem: first error %v, want ENOSPC", first)
	}
	for i := range 3 {
		if err := f.Sync(); !errors.Is(err, syscall.ENOSPC) {
			t.Errorf("Sync %d after the failure: %v, want ENOSPC", i+1, err)
		}
	}
	if _, err := f.Write(block); err == nil {
		t.Error("a Write after the failure succeeded")
	}
	if err := f.Close(); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Close after the failure: %v, want ENOSPC", err)
	}
}

// TestBytesPerSyncDoesNotSync: an sstable written through pebble's
// syncing file (BytesPerSync 512 KiB, as pebble opens them) is synced
// once, by its final Sync, not every 512 KiB: SyncTo promises nothing
// durable, as sync_file_range does. Shown failing first: with Fd
// vfs.InvalidFd, the syncing file called Sync each time.
func TestBytesPerSyncDoesNotSync(t *testing.T) {
	rt, nfs := newFS(t)
	f, err := nfs.Create(filepath.Join(t.TempDir(), "000015.sst"), vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	sf := vfs.NewSyncingFile(f, vfs.SyncingFileOptions{BytesPerSync: 512 << 10})
	before := rt.Stats().Syncs
	block := make([]byte, 4000)
	for range 2000 { // 8 MB
		if _, err := sf.Write(block); err != nil {
			t.Fatal(err)
		}
	}
	if err := sf.Sync(); err != nil {
		t.Fatal(err)
	}
	if syncs := rt.Stats().Syncs - before; syncs != 1 {
		t.Errorf("8 MB through a syncing file with BytesPerSync 512 KiB: %d syncs, want 1 (the final Sync)", syncs)
	}
	if err := sf.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestReadSeesWritesInFlight: a handle that reads back what it wrote,
// while those writes are still behind it in flight, reads the bytes
// written (as on vfs.Default), not what the file held before. pebble
// reads a file through the handle that writes it only so (and the WAL
// once its writes go behind too).
func TestReadSeesWritesInFlight(t *testing.T) {
	_, nfs := newFS(t)
	dir := t.TempDir()
	const size = 4 << 20
	want := make([]byte, size)
	for i := range want {
		want[i] = byte(1 + i%251)
	}
	got := make([]byte, 4096)
	for round := range 20 {
		f, err := nfs.Create(filepath.Join(dir, "000020.sst"), vfs.WriteCategoryUnspecified)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(want); err != nil {
			t.Fatal(err)
		}
		for _, off := range []int64{0, size / 2, size - 8192} { // in the first, a middle and the last full buffer
			if n, err := f.ReadAt(got, off); n != len(got) || err != nil {
				t.Fatalf("round %d: ReadAt %d: %d bytes, %v", round, off, n, err)
			}
			if !bytes.Equal(got, want[off:off+int64(len(got))]) {
				t.Fatalf("round %d: ReadAt %d while the writes were in flight: not the bytes written", round, off)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
