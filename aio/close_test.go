package aio

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestRuntimeCloseRacingFileClose: writers keep writing to a file while
// the user closes it and, at the same moment, closes the runtime. The
// runtime's Close then finds the file already closing; it must still wait
// for it, or it stops the workers and rings under I/O the file's Close is
// waiting for. Every call returns (nothing is lost in a stopped queue), and
// once both Closes have returned the file does not change.
func TestRuntimeCloseRacingFileClose(t *testing.T) {
	rounds := 100
	if testing.Short() {
		rounds = 10
	}
	buf := make([]byte, 3000) // unaligned: the slow path, through the workers
	for i := range buf {
		buf[i] = 0x5A
	}
	for round := range rounds {
		rt := newRuntime(t, Config{})
		path := filepath.Join(t.TempDir(), "data")
		f := openFile(t, rt, path)
		var writers sync.WaitGroup
		started := make(chan struct{}, 2)
		for g := range 2 {
			writers.Add(1)
			go func() {
				defer writers.Done()
				raceCloseWriter(t, rt, &IOCB{Op: OpWrite, File: f, Buf: buf, Offset: int64(g)*5000 + 1}, started)
			}()
		}
		<-started
		<-started
		var closers sync.WaitGroup
		closers.Add(2)
		go func() { defer closers.Done(); f.Close() }()
		go func() { defer closers.Done(); rt.Close() }()
		if !waitTimeout(&closers, 20*time.Second) {
			t.Fatalf("round %d: File.Close racing Runtime.Close did not return", round)
		}
		if !waitTimeout(&writers, 20*time.Second) {
			t.Fatalf("round %d: a write accepted before Close never completed", round)
		}
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
		if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
			t.Fatalf("round %d: the file changed after both Closes returned", round)
		}
		if t.Failed() {
			return
		}
	}
}

// waitTimeout waits for wg, at most d, and reports whether it finished.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// TestContextCloseWakesGetEvents: closing a context wakes a GetEvents
// waiting on it without a deadline, as io_destroy ends a pending
// io_getevents: the waiter gets ErrClosed, and Close returns.
func TestContextCloseWakesGetEvents(t *testing.T) {
	rt := newRuntime(t, Config{})
	f := openFile(t, rt, tempPath(t))
	ctx, err := rt.NewContext(4)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		var ev [1]Event
		_, err := ctx.GetEvents(1, ev[:], -1)
		got <- err
	}()
	time.Sleep(10 * time.Millisecond) // let it sleep
	var closers sync.WaitGroup
	closers.Add(1)
	go func() { defer closers.Done(); ctx.Close() }()
	if !waitTimeout(&closers, 10*time.Second) {
		t.Fatal("Context.Close did not return while a GetEvents waited")
	}
	select {
	case err := <-got:
		if !errors.Is(err, os.ErrClosed) {
			t.Fatalf("GetEvents woken by Close: %v, want os.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("GetEvents still waits after Context.Close")
	}
	if _, err := ctx.Submit(&IOCB{Op: OpRead, File: f, Buf: make([]byte, 10)}); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Submit after Close: %v", err)
	}
}
