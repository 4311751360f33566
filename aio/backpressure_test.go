package aio

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestBackpressure: a ring of 8 SQ and 16 CQ entries under 10,000 requests
// from 64 goroutines sharing one Context: nothing hangs, no completion is
// lost or doubled, and a full context answers ErrWouldBlock at once
// instead of waiting.
func TestBackpressure(t *testing.T) {
	rt := newRuntime(t, Config{QueueDepth: 8, Shards: 1})
	path := tempPath(t)
	if err := os.WriteFile(path, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	f := openFile(t, rt, path)
	ctx, _ := rt.NewContext(32)
	const goroutines, total = 64, 10000
	seen := make([]atomic.Int32, total)
	var completed, wouldBlock atomic.Int64
	var wg sync.WaitGroup
	collect := func(events []Event, wait time.Duration) {
		n, err := ctx.GetEvents(0, events, wait)
		if err != nil {
			t.Error(err)
		}
		for _, ev := range events[:n] {
			if ev.Err != nil {
				t.Errorf("request %d: %v", ev.IOCB.UserData, ev.Err)
			}
			seen[ev.IOCB.UserData].Add(1)
		}
		completed.Add(int64(n))
	}
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			events := make([]Event, 8)
			for i := g; i < total; i += goroutines {
				op := OpRead
				if i%2 == 0 {
					op = OpWrite
				}
				cb := &IOCB{Op: op, File: f, Buf: AlignedBuffer(4096), Offset: int64(i%256) * 4096, UserData: uint64(i)}
				for {
					_, err := ctx.Submit(cb)
					if err == nil {
						break
					}
					if !errors.Is(err, ErrWouldBlock) {
						t.Error(err)
						return
					}
					wouldBlock.Add(1)
					collect(events, time.Millisecond) // make room
				}
			}
		}()
	}
	wg.Wait()
	events := make([]Event, 32)
	deadline := time.Now().Add(60 * time.Second)
	for completed.Load() < total {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d completed after 60s: hung", completed.Load(), total)
		}
		collect(events, 100*time.Millisecond)
	}
	for i := range seen {
		if n := seen[i].Load(); n != 1 {
			t.Fatalf("request %d completed %d times", i, n)
		}
	}
	if wouldBlock.Load() == 0 {
		t.Fatal("the context never filled: the test did not show backpressure")
	}
	t.Logf("%d ErrWouldBlock answers; %+v", wouldBlock.Load(), rt.Stats())
}
