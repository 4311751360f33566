package aio

import (
	"bytes"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestContextFullReturnsWouldBlock(t *testing.T) {
	rt := newRuntime(t, Config{})
	f := openFile(t, rt, tempPath(t))
	ctx, err := rt.NewContext(3)
	if err != nil {
		t.Fatal(err)
	}
	cbs := make([]*IOCB, 5)
	for i := range cbs {
		cbs[i] = &IOCB{Op: OpWrite, File: f, Buf: AlignedBuffer(4096), Offset: int64(i) * 4096, UserData: uint64(i)}
	}
	n, err := ctx.Submit(cbs...)
	if n != 3 || !errors.Is(err, ErrWouldBlock) || !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("Submit of 5 into depth 3 = %d, %v; want 3, ErrWouldBlock", n, err)
	}
	events := make([]Event, 5)
	got, err := ctx.GetEvents(3, events, 5*time.Second)
	if err != nil || got != 3 {
		t.Fatalf("GetEvents = %d, %v", got, err)
	}
	seen := map[uint64]bool{}
	for _, ev := range events[:got] {
		if ev.Err != nil || ev.N != 4096 {
			t.Fatalf("event %+v", ev)
		}
		seen[ev.IOCB.UserData] = true
	}
	if !seen[0] || !seen[1] || !seen[2] {
		t.Fatalf("events for %v, want 0, 1, 2", seen)
	}
	// The slots are free again: the other two go in.
	if n, err := ctx.Submit(cbs[3:]...); n != 2 || err != nil {
		t.Fatalf("second Submit = %d, %v", n, err)
	}
	if got, err := ctx.GetEvents(2, events, 5*time.Second); got != 2 || err != nil {
		t.Fatalf("GetEvents = %d, %v", got, err)
	}
}

func TestGetEventsTimeoutAndPoll(t *testing.T) {
	rt := newRuntime(t, Config{})
	ctx, _ := rt.NewContext(4)
	events := make([]Event, 4)
	if n, err := ctx.GetEvents(1, events, 0); n != 0 || err != nil {
		t.Fatalf("poll of an idle context: %d, %v", n, err)
	}
	start := time.Now()
	if n, err := ctx.GetEvents(1, events, 30*time.Millisecond); n != 0 || err != nil {
		t.Fatalf("timed wait on an idle context: %d, %v", n, err)
	}
	if el := time.Since(start); el < 30*time.Millisecond {
		t.Fatalf("GetEvents returned after %v, before its 30ms timeout", el)
	}
}

// TestManyInFlight keeps a deep context full of mixed reads and writes of
// odd sizes and checks every completion against the data.
func TestManyInFlight(t *testing.T) {
	rt := newRuntime(t, Config{QueueDepth: 32})
	path := tempPath(t)
	const blocks = 256
	data := make([]byte, blocks*4096)
	for i := range data {
		data[i] = pattern(3, int64(i))
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f := openFile(t, rt, path)
	ctx, _ := rt.NewContext(128)
	cbs := make([]*IOCB, 400)
	for i := range cbs {
		off := int64((i * 7919) % (blocks*4096 - 9000))
		size := 1 + (i*131)%9000
		if i%3 == 0 {
			off, size = off/4096*4096, 4096 // aligned: the fast path
		}
		cbs[i] = &IOCB{Op: OpRead, File: f, Buf: make([]byte, size), Offset: off, UserData: uint64(i)}
	}
	events := make([]Event, 128)
	submitted, completed := 0, 0
	for completed < len(cbs) {
		if submitted < len(cbs) {
			n, err := ctx.Submit(cbs[submitted:]...)
			if err != nil && !errors.Is(err, ErrWouldBlock) {
				t.Fatal(err)
			}
			submitted += n
		}
		n, err := ctx.GetEvents(1, events, 5*time.Second)
		if err != nil || n == 0 {
			t.Fatalf("GetEvents: %d, %v with %d of %d done", n, err, completed, len(cbs))
		}
		for _, ev := range events[:n] {
			cb := ev.IOCB
			if ev.Err != nil || ev.N != len(cb.Buf) || !bytes.Equal(cb.Buf, data[cb.Offset:cb.Offset+int64(len(cb.Buf))]) {
				t.Fatalf("read %d (%d bytes at %d): n %d, err %v, data equal %v", cb.UserData, len(cb.Buf), cb.Offset, ev.N, ev.Err,
					bytes.Equal(cb.Buf, data[cb.Offset:cb.Offset+int64(len(cb.Buf))]))
			}
		}
		completed += n
	}
	if st := rt.Stats(); testBackend() == BackendIOUring && st.FastReads == 0 {
		t.Fatalf("no read took the fast path: %+v", st)
	}
}

func TestContextCloseWaitsForInFlight(t *testing.T) {
	rt := newRuntime(t, Config{})
	f := openFile(t, rt, tempPath(t))
	ctx, _ := rt.NewContext(16)
	for i := range 16 {
		if _, err := ctx.Submit(&IOCB{Op: OpWrite, File: f, Buf: make([]byte, 1000), Offset: int64(i) * 1000}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ctx.Close(); err != nil {
		t.Fatal(err)
	}
	if f.Size() != 16000 {
		t.Fatalf("Size %d after Context.Close, want the 16 writes done (16000)", f.Size())
	}
	var ev [1]Event
	if _, err := ctx.GetEvents(1, ev[:], time.Millisecond); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("GetEvents after Close: %v", err)
	}
}
