package aio

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestReadAtEOF(t *testing.T) {
	rt := newRuntime(t, Config{})
	path := tempPath(t)
	if err := os.WriteFile(path, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := openFile(t, rt, path)
	buf := make([]byte, 8)
	if n, err := f.ReadAt(buf, 6); n != 4 || err != io.EOF || string(buf[:4]) != "6789" {
		t.Fatalf("ReadAt across the end: %d, %v, %q", n, err, buf[:n])
	}
	if n, err := f.ReadAt(buf, 10); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt at the end: %d, %v", n, err)
	}
	if n, err := f.ReadAt(buf, 1000); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt past the end: %d, %v", n, err)
	}
	if n, err := f.ReadAt(nil, 3); n != 0 || err != nil {
		t.Fatalf("empty ReadAt: %d, %v", n, err)
	}
	if n, err := f.WriteAt(nil, 3); n != 0 || err != nil {
		t.Fatalf("empty WriteAt: %d, %v", n, err)
	}
	var _ io.ReaderAt = f
	var _ io.WriterAt = f
	var _ io.Closer = f
}

// TestBufferedFallback: a filesystem that refuses O_DIRECT (EINVAL, as
// tmpfs did before Linux 6.6; injected here on top of the real open) gets
// the file opened for page-cache I/O; Stats says so, and I/O of any
// alignment still works.
func TestBufferedFallback(t *testing.T) {
	old := openFn
	defer func() { openFn = old }()
	openFn = func(path string, flag int, perm uint32) (int, error) {
		if flag&unix.O_DIRECT != 0 {
			return -1, unix.EINVAL
		}
		return old(path, flag, perm)
	}
	rt := newRuntime(t, Config{})
	f := openFile(t, rt, tempPath(t))
	if rt.Stats().BufferedFiles != 1 {
		t.Fatalf("Stats.BufferedFiles %d, want 1", rt.Stats().BufferedFiles)
	}
	checkOddIO(t, f)
	f.Close()
	if rt.Stats().BufferedFiles != 0 {
		t.Fatal("BufferedFiles not decremented by Close")
	}
}

// TestTmpfs: /dev/shm (tmpfs: no FIEMAP, no reported direct-I/O alignment)
// works in whatever mode the kernel allows.
func TestTmpfs(t *testing.T) {
	dir, err := os.MkdirTemp("/dev/shm", "nowait-test")
	if err != nil {
		t.Skipf("no tmpfs at /dev/shm: %v", err)
	}
	defer os.RemoveAll(dir)
	rt := newRuntime(t, Config{})
	f := openFile(t, rt, filepath.Join(dir, "f"))
	checkOddIO(t, f)
}

func checkOddIO(t *testing.T, f *File) {
	t.Helper()
	want := []byte("at an odd offset, of an odd length")
	if _, err := f.WriteAt(want, 4097); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(want))
	if _, err := f.ReadAt(got, 4097); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read back %q, %v", got, err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if f.Size() != 4097+int64(len(want)) {
		t.Fatalf("Size %d", f.Size())
	}
	if st, err := os.Stat(f.Name()); err != nil || st.Size() != f.Size() {
		t.Fatalf("size on disk %d (%v), want %d", st.Size(), err, f.Size())
	}
}

// TestAllocateReadsZerosWithoutIO: a range the runtime allocated itself
// and never wrote is known zeros; reading it does no device I/O.
func TestAllocateReadsZerosWithoutIO(t *testing.T) {
	rt := newRuntime(t, Config{})
	path := tempPath(t)
	f := openFile(t, rt, path)
	if err := f.Allocate(0, 1<<20); err != nil {
		t.Fatal(err)
	}
	if f.Size() != 1<<20 {
		t.Fatalf("Size after Allocate %d", f.Size())
	}
	buf := bytes.Repeat([]byte{0xAB}, 64<<10)
	if n, err := f.ReadAt(buf, 4096); n != len(buf) || err != nil {
		t.Fatalf("ReadAt: %d, %v", n, err)
	}
	if bytes.IndexFunc(buf, func(r rune) bool { return r != 0 }) >= 0 {
		t.Fatal("read of an allocated, unwritten range returned non-zero bytes")
	}
	if testBackend() == BackendIOUring && rt.Stats().ZeroFilledReads == 0 {
		t.Fatalf("the read was not answered from the map: %+v", rt.Stats())
	}
	// Once written, the same range reads its data.
	if _, err := f.WriteAt(bytes.Repeat([]byte{7}, 4096), 8192); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadAt(buf[:4096], 8192); err != nil || buf[0] != 7 || buf[4095] != 7 {
		t.Fatalf("after a write: %v, %d..%d", err, buf[0], buf[4095])
	}
}

func TestTruncate(t *testing.T) {
	rt := newRuntime(t, Config{})
	path := tempPath(t)
	f := openFile(t, rt, path)
	if _, err := f.WriteAt(bytes.Repeat([]byte{5}, 10000), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(3000); err != nil {
		t.Fatal(err)
	}
	if f.Size() != 3000 {
		t.Fatalf("Size %d after Truncate(3000)", f.Size())
	}
	buf := make([]byte, 8000)
	if n, err := f.ReadAt(buf, 0); n != 3000 || err != io.EOF {
		t.Fatalf("ReadAt after shrink: %d, %v", n, err)
	}
	if err := f.Truncate(9000); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.ReadAt(buf, 0); n != 8000 || buf[2999] != 5 || bytes.IndexFunc(buf[3000:], func(r rune) bool { return r != 0 }) >= 0 {
		t.Fatalf("after growing: n %d, byte 2999 %d, zeros after 3000: %v", n, buf[2999],
			bytes.IndexFunc(buf[3000:], func(r rune) bool { return r != 0 }) < 0)
	}
	f.Close()
	if st, _ := os.Stat(path); st.Size() != 9000 {
		t.Fatalf("size on disk %d, want 9000", st.Size())
	}
}

// TestBarrierSyncAfterWrites: an fsync with FlagBarrier completes only
// after every write submitted before it, whatever the order the kernel
// finishes them in.
func TestBarrierSyncAfterWrites(t *testing.T) {
	rt := newRuntime(t, Config{})
	f := openFile(t, rt, tempPath(t))
	ctx, _ := rt.NewContext(64)
	var cbs []*IOCB
	for i := range 40 {
		size := 4096
		if i%2 == 1 {
			size = 1500 // slow-path writes, which finish later
		}
		cbs = append(cbs, &IOCB{Op: OpWrite, File: f, Buf: make([]byte, size), Offset: int64(i) * 8192, UserData: uint64(i)})
	}
	cbs = append(cbs, &IOCB{Op: OpFdatasync, File: f, Flags: FlagBarrier, UserData: 1000})
	if n, err := ctx.Submit(cbs...); n != len(cbs) || err != nil {
		t.Fatalf("Submit: %d, %v", n, err)
	}
	events := make([]Event, 64)
	writesDone := 0
	for got := 0; got < len(cbs); {
		n, err := ctx.GetEvents(1, events, 5*time.Second)
		if err != nil || n == 0 {
			t.Fatalf("GetEvents: %d, %v", n, err)
		}
		for _, ev := range events[:n] {
			if ev.Err != nil {
				t.Fatalf("event %d: %v", ev.IOCB.UserData, ev.Err)
			}
			if ev.IOCB.UserData == 1000 && writesDone != 40 {
				t.Fatalf("the barrier fsync completed after only %d of 40 earlier writes", writesDone)
			}
			if ev.IOCB.UserData < 1000 {
				writesDone++
			}
		}
		got += n
	}
}

func TestSizeSemanticsWithAppendAhead(t *testing.T) {
	rt := newRuntime(t, Config{})
	path := tempPath(t)
	f := openFile(t, rt, path)
	for i := range 10 {
		if _, err := f.WriteAt(bytes.Repeat([]byte{byte(i + 1)}, 4096), int64(i)*4096); err != nil {
			t.Fatal(err)
		}
	}
	if f.Size() != 40960 {
		t.Fatalf("Size %d", f.Size())
	}
	// The kernel's size may run ahead (append-ahead), reads stop at the
	// logical size.
	buf := make([]byte, 8192)
	if n, err := f.ReadAt(buf, 36864); n != 4096 || err != io.EOF {
		t.Fatalf("read across the logical end: %d, %v", n, err)
	}
	if err := f.SyncData(); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Size() != 40960 {
		t.Fatalf("size on disk after Sync %d, want 40960", st.Size())
	}
	// Appends after a Sync keep working and Close cuts back again.
	if _, err := f.WriteAt([]byte("tail"), 40960); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Size() != 40964 {
		t.Fatalf("size on disk after Close %d, want 40964", st.Size())
	}
	if err := f.Close(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
}

// TestConcurrentFileAPI hammers one File from many goroutines through the
// blocking methods (pooled contexts) with -race in mind.
func TestConcurrentFileAPI(t *testing.T) {
	rt := newRuntime(t, Config{})
	f := openFile(t, rt, tempPath(t))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 2048)
			back := make([]byte, 2048)
			for i := range 50 {
				off := int64(g*50+i) * 2048
				for k := range buf {
					buf[k] = pattern(g, off+int64(k))
				}
				if _, err := f.WriteAt(buf, off); err != nil {
					t.Error(err)
					return
				}
				if _, err := f.ReadAt(back, off); err != nil || !bytes.Equal(back, buf) {
					t.Errorf("read back at %d: %v", off, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestBarrierNotStarvedByLaterWrites: a barrier sync waits for the writes
// submitted before it, not for those submitted after it, which wait for it
// instead; otherwise a stream of new writes could keep it waiting for ever.
// Write A is held in flight by a range lock the test holds; then barrier B;
// then write C, whose range is locked too. Once A's range is free, B must
// complete while C is still stuck.
func TestBarrierNotStarvedByLaterWrites(t *testing.T) {
	rt := newRuntime(t, Config{})
	f := openFile(t, rt, tempPath(t))
	if err := f.Allocate(0, 1<<20); err != nil {
		t.Fatal(err)
	}
	const rangeA, rangeC = 0, 65536
	f.ino.Locks.LockExclusive(rangeA, rangeA+4096)
	f.ino.Locks.LockExclusive(rangeC, rangeC+4096)
	lockedA, lockedC := true, true
	defer func() { // on failure too: Runtime.Close waits for the stuck writes
		if lockedA {
			f.ino.Locks.UnlockExclusive(rangeA, rangeA+4096)
		}
		if lockedC {
			f.ino.Locks.UnlockExclusive(rangeC, rangeC+4096)
		}
	}()
	ctx, _ := rt.NewContext(8)
	cbs := []*IOCB{
		{Op: OpWrite, File: f, Buf: AlignedBuffer(4096), Offset: rangeA, UserData: 'A'},
		{Op: OpFdatasync, File: f, Flags: FlagBarrier, UserData: 'B'},
		{Op: OpWrite, File: f, Buf: AlignedBuffer(4096), Offset: rangeC, UserData: 'C'},
	}
	for _, cb := range cbs { // one at a time: B is submitted after A, C after B
		if _, err := ctx.Submit(cb); err != nil {
			t.Fatal(err)
		}
	}
	events := make([]Event, 3)
	if n, _ := ctx.GetEvents(1, events, 50*time.Millisecond); n != 0 {
		t.Fatalf("%c completed while write A was still in flight", rune(events[0].IOCB.UserData))
	}
	f.ino.Locks.UnlockExclusive(rangeA, rangeA+4096)
	lockedA = false
	var order []rune
	for len(order) < 2 {
		n, err := ctx.GetEvents(1, events, 2*time.Second)
		if err != nil || n == 0 {
			t.Fatalf("after A was freed, only %q completed: barrier B waits for the later write C", string(order))
		}
		for _, ev := range events[:n] {
			if ev.Err != nil {
				t.Fatal(ev.Err)
			}
			order = append(order, rune(ev.IOCB.UserData))
		}
	}
	if string(order) != "AB" {
		t.Fatalf("completion order %q, want A then B (C still held)", string(order))
	}
	f.ino.Locks.UnlockExclusive(rangeC, rangeC+4096)
	lockedC = false
	if n, err := ctx.GetEvents(1, events, 2*time.Second); n != 1 || err != nil || events[0].IOCB.UserData != 'C' {
		t.Fatalf("write C after its range was freed: %d, %v", n, err)
	}
}

// TestReadAcrossUnalignedEOF: a read that runs past an end of file that is
// not aligned to the direct-I/O unit returns what there is, with io.EOF.
// (The long fsx run found the worker reading on after such a short read,
// into unaligned memory, which O_DIRECT refused with EINVAL when a
// concurrent write had just grown the file; that race is not reproduced
// here, only the plain case.)
func TestReadAcrossUnalignedEOF(t *testing.T) {
	rt := newRuntime(t, Config{})
	path := tempPath(t)
	data := bytes.Repeat([]byte{9}, 10000)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f := openFile(t, rt, path)
	buf := make([]byte, 8000)
	if n, err := f.ReadAt(buf, 5001); n != 4999 || err != io.EOF || !bytes.Equal(buf[:n], data[5001:]) {
		t.Fatalf("ReadAt across the end: %d, %v", n, err)
	}
}

// TestEdgeWritePastSizeIsCutBack: a read-modify-write whose edge unit lies
// past the kernel's size (a hole under an unaligned size: the unit is a
// whole zero-filled block) writes that unit whole, which grows the file;
// the runtime must know, so that Close cuts the size back to the logical
// size. Found by the long fsx run.
func TestEdgeWritePastSizeIsCutBack(t *testing.T) {
	rt := newRuntime(t, Config{})
	path := tempPath(t)
	f := openFile(t, rt, path)
	if err := f.Truncate(10000); err != nil { // all hole; sizes 10000, unaligned
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("edge of a hole"), 9000); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Size() != 10000 {
		t.Fatalf("size on disk after Close %d (%v), want the logical size 10000", st.Size(), err)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got[9000:9014], []byte("edge of a hole")) || bytes.Count(got[:9000], []byte{0}) != 9000 {
		t.Fatal("contents after the edge write are wrong")
	}
}
