package aio

import (
	"bytes"
	"os"
	"sync"
	"testing"
)

// TestTailWriteGoesToTheRing: a write from an aligned offset whose end
// falls inside a unit with no data past it (a WAL's group of records,
// written again from its block's start) goes to the ring as one write of
// a zero-padded copy: no worker, no read. The file holds the records and
// its exact size, and zeros past them. The log is synced after its first
// record, as a WAL is: aio then writes its append-ahead with zeros, and
// no write spans written and unwritten blocks (ext4 refuses those
// RWF_NOWAIT: a worker does them).
func TestTailWriteGoesToTheRing(t *testing.T) {
	skipWithoutRing(t, "the ring's padded tail write")
	rt := newRuntime(t, Config{})
	path := tempPath(t)
	f := openFile(t, rt, path)
	if !f.ino.Direct {
		t.Skip("no O_DIRECT here: every write is buffered")
	}
	rec := bytes.Repeat([]byte("r"), 100)
	want := append([]byte(nil), rec...)
	if _, err := f.WriteAt(want, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.SyncData(); err != nil {
		t.Fatal(err)
	}
	st0 := rt.Stats()
	const records = 400
	for i := 1; i < records; i++ {
		rec[0] = byte(i)
		want = append(want, rec...)
		start := int64(len(want)-len(rec)) / 4096 * 4096
		if _, err := f.WriteAt(want[start:], start); err != nil {
			t.Fatal(err)
		}
	}
	st := rt.Stats()
	if !f.ino.Prov.Policy().NoWaitWrites {
		// btrfs: iomap's policy sends every direct write to a worker.
		t.Logf("%s refuses every RWF_NOWAIT direct write: the records went to a worker; checking their bytes only",
			f.ino.Prov.Policy().Filesystem)
	} else if slow, refused := st.SlowWrites-st0.SlowWrites, st.KernelEAGAIN-st0.KernelEAGAIN; slow > refused || refused > records/50 {
		// The kernel may refuse one now and then (XFS, when the file's
		// times are due: a worker redoes it); the runtime sends none.
		t.Errorf("%d of %d records went to a worker (%d read or zeroed edges; unaligned %d, extend %d, allocate %d, sub-block %d, lock busy %d, other %d; kernel EAGAIN %d); want 0",
			slow, records, st.RMW-st0.RMW, st.SlowUnaligned-st0.SlowUnaligned, st.SlowExtend-st0.SlowExtend,
			st.SlowAllocate-st0.SlowAllocate, st.SlowSubBlock-st0.SlowSubBlock, st.SlowLockBusy-st0.SlowLockBusy, st.SlowOther-st0.SlowOther, st.KernelEAGAIN-st0.KernelEAGAIN)
	}
	// Records that end on the alignment need no padding.
	unaligned := uint64(0)
	for i := 2; i <= records; i++ {
		if int64(i*len(rec))%f.ino.Align.Offset != 0 {
			unaligned++
		}
	}
	refused := st.KernelEAGAIN - st0.KernelEAGAIN
	if padded := st.PaddedWrites - st0.PaddedWrites; padded+refused < unaligned && f.ino.Prov.Policy().NoWaitWrites {
		t.Errorf("%d of %d records went to the ring padded (%d more refused by the kernel); want the %d that end off the alignment",
			padded, records-1, refused, unaligned)
	}
	if got := f.Size(); got != int64(len(want)) {
		t.Errorf("Size %d after the records; want %d", got, len(want))
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("file after the records: %d bytes, %v; want %d", len(got), err, len(want))
	}
}

// TestTailWriteKeepsDataPast: where data lies past a write's end in its
// last unit, the write does not pad it with zeros (it goes to a worker,
// which reads the unit); after a Truncate below it, none lies past, and
// the next such write goes to the ring.
func TestTailWriteKeepsDataPast(t *testing.T) {
	skipWithoutRing(t, "the ring's padded tail write")
	rt := newRuntime(t, Config{})
	f := writtenFile(t, rt, 64<<10)
	if !f.ino.Direct {
		t.Skip("no O_DIRECT here: every write is buffered")
	}
	old := bytes.Repeat([]byte{7}, 64<<10)
	if _, err := f.WriteAt(old, 0); err != nil {
		t.Fatal(err)
	}
	st0 := rt.Stats()
	if _, err := f.WriteAt([]byte("head"), 8192); err != nil {
		t.Fatal(err)
	}
	copy(old[8192:], "head")
	got := make([]byte, len(old))
	if _, err := f.ReadAt(got, 0); err != nil || !bytes.Equal(got, old) {
		t.Fatalf("a 4-byte write over data changed the bytes around it (%v)", err)
	}
	if st := rt.Stats(); st.PaddedWrites != st0.PaddedWrites {
		t.Error("a write with data past its end in its unit went to the ring padded")
	}
	// After a Truncate to 8192 no data lies past it: the write that
	// extends the file goes to a worker, the next one past it padded.
	if err := f.Truncate(8192); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("ta"), 8192); err != nil {
		t.Fatal(err)
	}
	st0 = rt.Stats()
	if _, err := f.WriteAt([]byte("tail"), 8192); err != nil {
		t.Fatal(err)
	}
	// On the ring: done there padded, or refused by the kernel (XFS, when
	// the file's times are due).
	if st := rt.Stats(); st.PaddedWrites+st.KernelEAGAIN != st0.PaddedWrites+st0.KernelEAGAIN+1 && f.ino.Prov.Policy().NoWaitWrites {
		t.Errorf("after Truncate to 8192, a write of 4 bytes at 8192 went to the ring padded %d times (%d refused by the kernel); want 1",
			st.PaddedWrites-st0.PaddedWrites, st.KernelEAGAIN-st0.KernelEAGAIN)
	}
	got = make([]byte, 8200)
	if n, _ := f.ReadAt(got, 0); n != 8196 || !bytes.Equal(got[:8192], old[:8192]) || string(got[8192:8196]) != "tail" {
		t.Fatalf("after the truncate and the write: %d bytes, tail %q", n, got[8192:n])
	}
}

// TestTailWriteBesideAnUnalignedWrite: a padded tail write and a write
// that starts where it ends, inside the same unit, submitted together
// round after round from two goroutines: neither loses the other's
// bytes (the padding never lands over the other's data).
func TestTailWriteBesideAnUnalignedWrite(t *testing.T) {
	rt := newRuntime(t, Config{})
	f := openFile(t, rt, tempPath(t))
	const rounds = 300
	want := make([]byte, 0, rounds*4096)
	for round := range rounds {
		base := int64(round) * 4096
		a := bytes.Repeat([]byte{byte(1 + round%250)}, 700)
		b := bytes.Repeat([]byte{byte(2 + round%250)}, 900)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		wg.Add(2)
		go func() { defer wg.Done(); _, errs[0] = f.WriteAt(a, base) }()
		go func() { defer wg.Done(); _, errs[1] = f.WriteAt(b, base+700) }()
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatal(errs)
		}
		want = append(want, a...)
		want = append(want, b...)
		want = append(want, make([]byte, 4096-1600)...)
	}
	want = want[:len(want)-(4096-1600)]
	got := make([]byte, len(want))
	if n, err := f.ReadAt(got, 0); n != len(want) || !bytes.Equal(got, want) {
		for i := range got {
			if got[i] != want[i] {
				disk := make([]byte, 8)
				if d, err := os.Open(f.Name()); err == nil {
					d.ReadAt(disk, int64(i))
					d.Close()
				}
				t.Logf("the file itself holds %v there (read through the page cache)", disk)
				t.Fatalf("byte %d (round %d) is %d, want %d (read %d, %v)", i, i/4096, got[i], want[i], n, err)
			}
		}
		t.Fatalf("read %d bytes, %v; want %d", n, err, len(want))
	}
}

// TestTailReadStaysOnTheRing: a read of a file's last bytes, where the
// file ends inside the read's last unit (pebble reads every sstable's
// footer so), is done on the ring: the kernel's short count is the end
// of the file, not a reason to redo it on a worker. It was: each such
// read went to a worker.
func TestTailReadStaysOnTheRing(t *testing.T) {
	skipWithoutRing(t, "a read's path on the ring")
	rt := newRuntime(t, Config{})
	path := tempPath(t)
	want := make([]byte, 2088277)
	for i := range want {
		want[i] = pattern(1, int64(i))
	}
	if err := os.WriteFile(path, want, 0o600); err != nil {
		t.Fatal(err)
	}
	f := openFile(t, rt, path)
	st0 := rt.Stats()
	for _, c := range []struct{ off, n int }{{2088216, 61}, {2088185, 39}, {2087717, 468}, {2088276, 1}} {
		p := make([]byte, c.n)
		if n, err := f.ReadAt(p, int64(c.off)); n != c.n || err != nil || !bytes.Equal(p, want[c.off:c.off+c.n]) {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v, or not the file's bytes", c.n, c.off, n, err)
		}
	}
	if st := rt.Stats(); st.SlowReads != st0.SlowReads || st.KernelEAGAIN != st0.KernelEAGAIN {
		t.Errorf("4 reads ending in the file's last unit: %d went to a worker (%d counted as refused by the kernel); want 0",
			st.SlowReads-st0.SlowReads, st.KernelEAGAIN-st0.KernelEAGAIN)
	}
}

// TestLongTailWriteGoesToTheRing: a padded write longer than one copy
// (padCopyMax) writes its whole units from the caller's memory and only
// its last unit from a zero-padded copy; the bytes and the size are the
// caller's.
func TestLongTailWriteGoesToTheRing(t *testing.T) {
	skipWithoutRing(t, "the ring's padded tail write")
	rt := newRuntime(t, Config{})
	path := tempPath(t)
	f := openFile(t, rt, path)
	if _, err := f.WriteAt([]byte{1}, 0); err != nil { // the file extends: a worker
		t.Fatal(err)
	}
	if err := f.SyncData(); err != nil { // a log: its append-ahead is zeros
		t.Fatal(err)
	}
	want := make([]byte, 300001)
	for i := range want {
		want[i] = pattern(2, int64(i))
	}
	st0 := rt.Stats()
	if _, err := f.WriteAt(want, 0); err != nil {
		t.Fatal(err)
	}
	st := rt.Stats()
	if f.ino.Prov.Policy().NoWaitWrites && st.PaddedWrites+st.KernelEAGAIN != st0.PaddedWrites+st0.KernelEAGAIN+1 {
		t.Errorf("a 300,001-byte write over zeros ahead: %d padded on the ring, %d slow; want it padded", st.PaddedWrites-st0.PaddedWrites, st.SlowWrites-st0.SlowWrites)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the file after the write: %d bytes, %v; want the caller's %d", len(got), err, len(want))
	}
}
