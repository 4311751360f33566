package aio

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
)

// The fsx-style model test, through two handles of the file from two
// Runtimes (one model: the file has one state). Short by default (seconds,
// in CI); the long mode is one command:
//
//	go test -run TestFSX ./aio -args -fsx.ops=200000
//	NOWAIT_BACKEND=syscall go test -run TestFSX ./aio -args -fsx.ops=200000
//
// A failure prints the seed and the last operations; -fsx.seed replays it.
var (
	fsxOps  = flag.Int("fsx.ops", 1500, "operations in TestFSX")
	fsxSeed = flag.Uint64("fsx.seed", 0, "seed of TestFSX (0: a random one, printed)")
)

const fsxMaxSize = 1 << 20

type fsx struct {
	t     *testing.T
	seed  uint64
	rng   *rand.Rand
	rt    *Runtime
	rt2   *Runtime // a second runtime of the process, with the second handle
	path  string
	f     *File // the handle of rt, which the batches use
	g     *File // a second handle of the same file, from rt2
	ctx   *Context
	model []byte // the file's logical contents
	log   []string
	op    int
}

// h picks one of the two handles: every operation but a batch goes
// through either, and the model is one, as the file's state is.
func (x *fsx) h() *File {
	if x.rng.IntN(2) == 0 {
		return x.g
	}
	return x.f
}

func (x *fsx) logf(format string, args ...any) {
	x.log = append(x.log, fmt.Sprintf("%6d ", x.op)+fmt.Sprintf(format, args...))
	if len(x.log) > 40 {
		x.log = x.log[1:]
	}
}

func (x *fsx) fail(format string, args ...any) {
	x.t.Helper()
	x.t.Fatalf("seed %d, op %d: %s\nreplay: go test -run TestFSX ./aio -args -fsx.seed=%d -fsx.ops=%d\nlast operations:\n%s",
		x.seed, x.op, fmt.Sprintf(format, args...), x.seed, *fsxOps, strings.Join(x.log, "\n"))
}

// span picks a range: often unaligned and small, sometimes block-aligned,
// sometimes at or past the end of the file.
func (x *fsx) span(maxLen int64) (int64, int64) {
	size := int64(len(x.model))
	var off int64
	switch x.rng.IntN(4) {
	case 0:
		off = x.rng.Int64N(fsxMaxSize - maxLen)
	case 1:
		off = max(size-x.rng.Int64N(8192), 0) // around the end
	case 2:
		off = x.rng.Int64N(fsxMaxSize/4096-maxLen/4096) * 4096
	default:
		off = x.rng.Int64N(max(size, 1))
	}
	off = min(off, fsxMaxSize-1) // at least one byte fits (Allocate of 0 is EINVAL)
	n := 1 + x.rng.Int64N(maxLen)
	if x.rng.IntN(3) == 0 {
		n = (n + 511) / 512 * 512
	}
	return off, min(n, fsxMaxSize-off)
}

func (x *fsx) buffer(n int64) []byte {
	var b []byte
	if x.rng.IntN(2) == 0 {
		b = AlignedBuffer(int(n))
	} else {
		skip := x.rng.Int64N(64) // any alignment
		b = make([]byte, n+skip)[skip:]
	}
	for i := range b {
		b[i] = byte(x.rng.Uint32())
	}
	return b
}

func (x *fsx) apply(off int64, b []byte) {
	if end := off + int64(len(b)); end > int64(len(x.model)) {
		x.model = append(x.model, make([]byte, end-int64(len(x.model)))...)
	}
	copy(x.model[off:], b)
}

func (x *fsx) checkRead(off int64, got []byte, n int, err error) {
	size := int64(len(x.model))
	want := int64(0)
	if off < size {
		want = min(int64(len(got)), size-off)
	}
	if int64(n) != want {
		x.fail("ReadAt(%d bytes at %d) read %d, want %d (size %d)", len(got), off, n, want, size)
	}
	if want < int64(len(got)) && err != io.EOF || want == int64(len(got)) && err != nil {
		x.fail("ReadAt(%d bytes at %d): error %v with n %d", len(got), off, err, n)
	}
	if n > 0 && !bytes.Equal(got[:n], x.model[off:off+int64(n)]) {
		for i := range n {
			if got[i] != x.model[off+int64(i)] {
				x.fail("ReadAt at %d: byte %d is %d, want %d", off, off+int64(i), got[i], x.model[off+int64(i)])
			}
		}
	}
}

func (x *fsx) write() {
	off, n := x.span(64 << 10)
	b := x.buffer(n)
	x.logf("write %d bytes at %d", n, off)
	if m, err := x.h().WriteAt(b, off); err != nil || m != len(b) {
		x.fail("WriteAt(%d at %d) = %d, %v", n, off, m, err)
	}
	x.apply(off, b)
}

func (x *fsx) read() {
	off, n := x.span(64 << 10)
	off = min(off, int64(len(x.model))+100)
	b := x.buffer(n)
	x.logf("read %d bytes at %d", n, off)
	m, err := x.h().ReadAt(b, off)
	x.checkRead(off, b, m, err)
}

// batch submits many I/Os at once through a Context: writes to disjoint
// 64 KiB slots and reads of slots no write of the batch touches, so that
// the model's answer does not depend on their order.
func (x *fsx) batch() {
	slots := x.rng.Perm(fsxMaxSize / 65536)[:2+x.rng.IntN(12)]
	var cbs []*IOCB
	size := int64(len(x.model))
	for i, s := range slots {
		off := int64(s)*65536 + x.rng.Int64N(4096)
		n := 1 + x.rng.Int64N(65536-4096)
		op := OpWrite
		if i%2 == 1 {
			// A read stays below the size before the batch: past it, a
			// write of the batch that extends the file may or may not have
			// landed first, and either answer is right.
			if off >= size {
				continue
			}
			op, n = OpRead, min(n, size-off)
		}
		cbs = append(cbs, &IOCB{Op: op, File: x.f, Buf: x.buffer(n), Offset: off, UserData: uint64(i)})
		x.logf("  batch %v %d bytes at %d", op, n, off)
	}
	x.logf("batch of %d", len(cbs))
	if n, err := x.ctx.Submit(cbs...); n != len(cbs) || err != nil {
		x.fail("Submit of %d: %d, %v", len(cbs), n, err)
	}
	before := append([]byte(nil), x.model...)
	events := make([]Event, len(cbs))
	for got := 0; got < len(cbs); {
		n, err := x.ctx.GetEvents(len(cbs)-got, events[got:], 30*time.Second)
		if err != nil || n == 0 {
			x.fail("GetEvents: %d, %v with %d of %d done", n, err, got, len(cbs))
		}
		got += n
	}
	for _, ev := range events {
		cb := ev.IOCB
		if ev.Err != nil {
			x.fail("batch %v at %d: %v", cb.Op, cb.Offset, ev.Err)
		}
		if cb.Op == OpWrite {
			if ev.N != len(cb.Buf) {
				x.fail("batch write at %d: n %d", cb.Offset, ev.N)
			}
			x.apply(cb.Offset, cb.Buf)
		}
	}
	for _, ev := range events {
		if cb := ev.IOCB; cb.Op == OpRead {
			saved := x.model
			x.model = before // reads see the file as it was: no batch write touched their slot
			var err error
			if ev.N < len(cb.Buf) {
				err = io.EOF
			}
			x.checkRead(cb.Offset, cb.Buf, ev.N, err)
			x.model = saved
		}
	}
}

func (x *fsx) truncate() {
	size := x.rng.Int64N(fsxMaxSize)
	x.logf("truncate to %d", size)
	if err := x.h().Truncate(size); err != nil {
		x.fail("Truncate(%d): %v", size, err)
	}
	if size < int64(len(x.model)) {
		x.model = x.model[:size]
	} else {
		x.model = append(x.model, make([]byte, size-int64(len(x.model)))...)
	}
}

func (x *fsx) allocate() {
	off, n := x.span(256 << 10)
	x.logf("allocate %d bytes at %d", n, off)
	if err := x.h().Allocate(off, n); err != nil {
		x.fail("Allocate(%d, %d): %v", off, n, err)
	}
	if end := off + n; end > int64(len(x.model)) {
		x.model = append(x.model, make([]byte, end-int64(len(x.model)))...)
	}
}

func (x *fsx) sync() {
	if x.rng.IntN(2) == 0 {
		x.logf("syncdata")
		if err := x.h().SyncData(); err != nil {
			x.fail("SyncData: %v", err)
		}
		return
	}
	x.logf("sync")
	if err := x.h().Sync(); err != nil {
		x.fail("Sync: %v", err)
	}
	if st, err := os.Stat(x.path); err != nil || st.Size() != int64(len(x.model)) {
		x.fail("after Sync the file is %d bytes on disk (%v), want the logical size %d", st.Size(), err, len(x.model))
	}
}

func (x *fsx) reopen() {
	x.logf("close both handles and reopen")
	if err := x.f.Close(); err != nil {
		x.fail("Close: %v", err)
	}
	if err := x.g.Close(); err != nil {
		x.fail("Close of the second handle: %v", err)
	}
	disk, err := os.ReadFile(x.path)
	if err != nil {
		x.fail("%v", err)
	}
	if !bytes.Equal(disk, x.model) {
		x.fail("after Close the file (%d bytes) differs from the model (%d bytes) at byte %d", len(disk), len(x.model), firstDiff(disk, x.model))
	}
	if x.rng.IntN(2) == 0 {
		x.writeOutside()
	}
	if x.f, err = x.rt.Open(x.path, os.O_RDWR, 0); err != nil {
		x.fail("reopen: %v", err)
	}
	if x.g, err = x.rt2.Open(x.path, os.O_RDWR, 0); err != nil {
		x.fail("reopen of the second handle: %v", err)
	}
}

// writeOutside changes the closed file with plain buffered os calls, as
// another program (or the database's own tools) would: writes anywhere,
// often at and past the end, and sometimes a truncate. The runtime must
// take the file as it finds it when it opens it again: partial blocks
// at the end, delayed allocation, extents it never made.
func (x *fsx) writeOutside() {
	w, err := os.OpenFile(x.path, os.O_RDWR, 0)
	if err != nil {
		x.fail("open outside the runtime: %v", err)
	}
	defer w.Close()
	for range 1 + x.rng.IntN(3) {
		off, n := x.span(16 << 10)
		if x.rng.IntN(4) == 0 {
			x.logf("outside: truncate to %d", off)
			if err := w.Truncate(off); err != nil {
				x.fail("truncate outside: %v", err)
			}
			if off < int64(len(x.model)) {
				x.model = x.model[:off]
			} else {
				x.model = append(x.model, make([]byte, off-int64(len(x.model)))...)
			}
			continue
		}
		b := x.buffer(n)
		x.logf("outside: write %d bytes at %d", n, off)
		if _, err := w.WriteAt(b, off); err != nil {
			x.fail("write outside: %v", err)
		}
		x.apply(off, b)
	}
	if x.rng.IntN(2) == 0 {
		x.logf("outside: fsync")
		if err := w.Sync(); err != nil {
			x.fail("fsync outside: %v", err)
		}
	}
}

func TestFSX(t *testing.T) {
	seed := *fsxSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("seed %d, %d operations", seed, *fsxOps)
	x := &fsx{t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, 5)), rt: newRuntime(t, Config{}), rt2: newRuntime(t, Config{}), path: tempPath(t)}
	x.f = openFile(t, x.rt, x.path)
	x.g = openFile(t, x.rt2, x.path)
	var err error
	if x.ctx, err = x.rt.NewContext(32); err != nil {
		t.Fatal(err)
	}
	for x.op = 0; x.op < *fsxOps; x.op++ {
		switch k := x.rng.IntN(100); {
		case k < 30:
			x.write()
		case k < 60:
			x.read()
		case k < 75:
			x.batch()
		case k < 80:
			x.truncate()
		case k < 85:
			x.allocate()
		case k < 95:
			x.sync()
		default:
			x.reopen()
		}
		if got, got2 := x.f.Size(), x.g.Size(); got != int64(len(x.model)) || got2 != got {
			x.fail("Size() %d and %d through the two handles, model %d", got, got2, len(x.model))
		}
	}
	x.reopen()
	t.Logf("%+v", x.rt.Stats())
}
