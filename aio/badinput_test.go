package aio

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestBadInput submits every kind of bad IOCB: each gets its documented
// error, nothing panics, nothing is accepted, and the file on disk is
// unchanged.
func TestBadInput(t *testing.T) {
	rt := newRuntime(t, Config{})
	other := newRuntime(t, Config{})
	path := tempPath(t)
	orig := bytes.Repeat([]byte("nowait"), 2000)
	if err := os.WriteFile(path, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	f := openFile(t, rt, path)
	closedFile := openFile(t, rt, tempPath(t))
	closedFile.Close()
	foreign := openFile(t, other, tempPath(t))
	ctx, err := rt.NewContext(4)
	if err != nil {
		t.Fatal(err)
	}
	// A buffer one byte too large, without touching 1 GiB of memory.
	huge, err := unix.Mmap(-1, 0, MaxIOBytes+1, unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(huge)
	buf := []byte("xxxx")
	cases := []struct {
		name string
		cb   *IOCB
		want error
	}{
		{"nil IOCB", nil, ErrNilIOCB},
		{"nil file", &IOCB{Op: OpWrite, Buf: buf}, ErrNilFile},
		{"op zero", &IOCB{File: f, Buf: buf}, ErrUnknownOp},
		{"op 99", &IOCB{Op: 99, File: f, Buf: buf}, ErrUnknownOp},
		{"negative offset", &IOCB{Op: OpWrite, File: f, Buf: buf, Offset: -1}, ErrNegativeOffset},
		{"offset overflows", &IOCB{Op: OpWrite, File: f, Buf: buf, Offset: 1<<63 - 2}, ErrOffsetOverflow},
		{"closed file", &IOCB{Op: OpWrite, File: closedFile, Buf: buf}, os.ErrClosed},
		{"other runtime's file", &IOCB{Op: OpWrite, File: foreign, Buf: buf}, ErrOtherRuntime},
		{"buffer too large", &IOCB{Op: OpRead, File: f, Buf: huge}, ErrBufferTooLarge},
	}
	for _, c := range cases {
		good := &IOCB{Op: OpWrite, File: f, Buf: buf, Offset: 100}
		n, err := ctx.Submit(good, c.cb) // a good IOCB first: it must not go either
		if n != 0 || !errors.Is(err, c.want) {
			t.Errorf("%s: Submit = %d, %v; want 0, %v", c.name, n, err, c.want)
		}
	}
	var ev [1]Event
	if n, _ := ctx.GetEvents(0, ev[:], 0); n != 0 {
		t.Fatalf("a refused batch produced %d events", n)
	}
	// Closed context, then closed runtime.
	ctx.Close()
	if _, err := ctx.Submit(&IOCB{Op: OpWrite, File: f, Buf: buf}); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Submit on a closed context: %v", err)
	}
	if err := ctx.Close(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second Context.Close: %v", err)
	}
	if _, err := rt.NewContext(0); err != ErrBadDepth {
		t.Errorf("NewContext(0): %v", err)
	}
	if _, err := f.WriteAt(buf, -5); !errors.Is(err, ErrNegativeOffset) {
		t.Errorf("WriteAt at -5: %v", err)
	}
	if _, err := f.ReadAt(buf, -5); !errors.Is(err, ErrNegativeOffset) {
		t.Errorf("ReadAt at -5: %v", err)
	}
	if err := f.Truncate(-1); err == nil {
		t.Error("Truncate(-1) accepted")
	}
	if err := f.Allocate(0, 0); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("Allocate(0, 0): %v", err)
	}
	if err := f.Allocate(-4096, 4096); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("Allocate(-4096, ...): %v", err)
	}
	ctx2, _ := rt.NewContext(2)
	if err := rt.Close(); err != nil {
		t.Fatalf("Runtime.Close: %v", err)
	}
	if _, err := ctx2.Submit(&IOCB{Op: OpWrite, File: f, Buf: buf}); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Submit after Runtime.Close: %v", err)
	}
	for name, err := range map[string]error{
		"WriteAt":  func() error { _, err := f.WriteAt(buf, 0); return err }(),
		"ReadAt":   func() error { _, err := f.ReadAt(buf, 0); return err }(),
		"Sync":     f.Sync(),
		"Truncate": f.Truncate(0),
		"Allocate": f.Allocate(0, 4096),
		"Close":    f.Close(),
		"Open":     func() error { _, err := rt.Open(path, os.O_RDWR, 0); return err }(),
		"NewContext": func() error {
			_, err := rt.NewContext(1)
			return err
		}(),
		"Runtime.Close": rt.Close(),
	} {
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("%s after Runtime.Close: %v, want os.ErrClosed", name, err)
		}
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, orig) {
		t.Fatal("bad input changed the file on disk")
	}
}

func TestBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Shards: -1}, {QueueDepth: -1}, {Workers: -2}, {Backend: 9},
		{QueueDepth: 1 << 20}, {AppendStepMin: 8 << 20, AppendStepMax: 1 << 20},
	} {
		if rt, err := New(cfg); err == nil {
			rt.Close()
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	rt := newRuntime(t, Config{})
	if _, err := rt.Open(tempPath(t), os.O_RDWR, 0); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open of a missing file: %v", err)
	}
	if _, err := rt.Open(t.TempDir(), os.O_RDONLY, 0); err == nil {
		t.Error("Open of a directory succeeded")
	}
}

// TestClosedErrorsNameWhatClosed: a closed File, Context and Runtime each
// say which it is, and each errors.Is os.ErrClosed.
func TestClosedErrorsNameWhatClosed(t *testing.T) {
	rt := newRuntime(t, Config{})
	f := openFile(t, rt, tempPath(t))
	ctx, err := rt.NewContext(2)
	if err != nil {
		t.Fatal(err)
	}
	ctx.Close()
	_, ctxErr := ctx.Submit(&IOCB{Op: OpRead, File: f, Buf: make([]byte, 8)})
	g := openFile(t, rt, tempPath(t))
	g.Close()
	_, fileErr := g.ReadAt(make([]byte, 8), 0)
	rt.Close()
	_, rtErr := rt.NewContext(1)
	for _, c := range []struct {
		err, want error
		word      string
	}{{ctxErr, ErrContextClosed, "context"}, {fileErr, ErrClosed, "file"}, {rtErr, ErrRuntimeClosed, "runtime"}} {
		if !errors.Is(c.err, c.want) || !errors.Is(c.err, os.ErrClosed) || !strings.Contains(c.err.Error(), c.word) {
			t.Errorf("%v: want %v, os.ErrClosed, and the word %q", c.err, c.want, c.word)
		}
	}
}

// TestEmptyBufferCompletesAtOnce: a read or write of an empty buffer is
// no error and moves nothing, as with os.File's ReadAt and WriteAt.
func TestEmptyBufferCompletesAtOnce(t *testing.T) {
	rt := newRuntime(t, Config{})
	f := openFile(t, rt, tempPath(t))
	for _, b := range [][]byte{nil, {}} {
		if n, err := f.WriteAt(b, 4096); n != 0 || err != nil {
			t.Errorf("WriteAt(%v): %d, %v", b, n, err)
		}
		if n, err := f.ReadAt(b, 0); n != 0 || err != nil {
			t.Errorf("ReadAt(%v): %d, %v", b, n, err)
		}
	}
	if f.Size() != 0 {
		t.Errorf("an empty write at 4096 changed the size to %d", f.Size())
	}
}
