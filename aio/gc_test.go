package aio

import (
	"bytes"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"
)

// TestGCDuringIO runs many I/Os on Go heap buffers of odd sizes while the
// garbage collector runs continuously (GOGC=1 and runtime.GC in a loop):
// the kernel writes into buffers after Submit returns, and none may be
// freed or reused before its completion.
func TestGCDuringIO(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(1))
	rt := newRuntime(t, Config{})
	f := openFile(t, rt, tempPath(t))
	stop := make(chan struct{})
	var gcs sync.WaitGroup
	gcs.Add(1)
	go func() {
		defer gcs.Done()
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
			}
		}
	}()
	ctx, _ := rt.NewContext(32)
	events := make([]Event, 32)
	for round := range 20 {
		var cbs []*IOCB
		for i := range 32 {
			size := 512 + (round*32+i)%3000
			buf := make([]byte, size) // fresh heap memory, referenced only by the IOCB
			for k := range buf {
				buf[k] = pattern(i, int64(round*100000+k))
			}
			cbs = append(cbs, &IOCB{Op: OpWrite, File: f, Buf: buf, Offset: int64(i) * 4096, UserData: uint64(i)})
		}
		if _, err := ctx.Submit(cbs...); err != nil {
			t.Fatal(err)
		}
		cbs = nil // only the runtime holds the buffers now
		// Grow this goroutine's stack deep between submit and reap: the
		// stack is copied elsewhere, and nothing the kernel uses may live
		// on it.
		if deepStack(2000+round*100) == 0 {
			t.Fatal("unreachable")
		}
		for got := 0; got < 32; {
			n, err := ctx.GetEvents(1, events, 10*time.Second)
			if err != nil || n == 0 {
				t.Fatalf("GetEvents: %d, %v", n, err)
			}
			got += n
		}
		// Read everything back into fresh buffers and check.
		for i := range 32 {
			size := 512 + (round*32+i)%3000
			back := make([]byte, size)
			if _, err := f.ReadAt(back, int64(i)*4096); err != nil {
				t.Fatal(err)
			}
			want := make([]byte, size)
			for k := range want {
				want[k] = pattern(i, int64(round*100000+k))
			}
			if !bytes.Equal(back, want) {
				t.Fatalf("round %d, write %d: data differs after GC pressure", round, i)
			}
		}
	}
	close(stop)
	gcs.Wait()
}

// deepStack recurses n frames with a local array in each, forcing the
// goroutine's stack to grow (and move) several times.
func deepStack(n int) int {
	var pad [64]byte
	pad[n%64] = byte(n)
	if n == 0 {
		return int(pad[0]) + 1
	}
	return deepStack(n-1) + int(pad[n%64]&1)
}
