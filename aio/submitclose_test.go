package aio

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestSubmitRacingClose: writers keep submitting to a file while it is
// closed, over many rounds. Every Submit either is accepted before Close
// (and its write completes without error) or fails with ErrClosed; once
// Close returns, nothing more reaches the disk: not the closed file, nor
// the file opened next, which may get the same descriptor number and
// fixed slot.
func TestSubmitRacingClose(t *testing.T) {
	rt := newRuntime(t, Config{})
	buf := AlignedBuffer(4096)
	for i := range buf {
		buf[i] = 0xEE
	}
	rounds := 200
	if testing.Short() {
		rounds = 20
	}
	for round := range rounds {
		dir := t.TempDir()
		victim := openFile(t, rt, filepath.Join(dir, "victim"))
		var wg sync.WaitGroup
		started := make(chan struct{}, 2)
		for g := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				raceCloseWriter(t, rt, &IOCB{Op: OpWrite, File: victim, Buf: buf, Offset: int64(g) * 4096}, started)
			}()
		}
		<-started
		<-started
		if err := victim.Close(); err != nil {
			t.Fatal(err)
		}
		before, err := os.ReadFile(filepath.Join(dir, "victim"))
		if err != nil {
			t.Fatal(err)
		}
		next := openFile(t, rt, filepath.Join(dir, "next"))
		wg.Wait()
		if err := next.Sync(); err != nil {
			t.Fatal(err)
		}
		if st, _ := os.Stat(filepath.Join(dir, "next")); st.Size() != 0 {
			t.Fatalf("round %d: a write submitted to a closed file reached the next file opened (size %d)", round, st.Size())
		}
		after, _ := os.ReadFile(filepath.Join(dir, "victim"))
		if !bytes.Equal(before, after) {
			t.Fatalf("round %d: the closed file changed after Close returned", round)
		}
		next.Close()
		if t.Failed() {
			return
		}
	}
}

// raceCloseWriter writes cb again and again until Submit refuses it.
func raceCloseWriter(t *testing.T, rt *Runtime, cb *IOCB, started chan<- struct{}) {
	ctx, err := rt.NewContext(1)
	if err != nil {
		t.Error(err)
		return
	}
	defer ctx.Close()
	ev := make([]Event, 1)
	for i := 0; ; i++ {
		if i == 1 {
			started <- struct{}{}
		}
		if _, err := ctx.Submit(cb); err != nil {
			// The file's or, when the runtime closes, the runtime's.
			if !errors.Is(err, ErrClosed) && !errors.Is(err, ErrRuntimeClosed) {
				t.Errorf("Submit racing Close: %v, want ErrClosed or ErrRuntimeClosed", err)
			}
			return
		}
		if _, err := ctx.GetEvents(1, ev, -1); err != nil {
			t.Error(err)
			return
		}
		if ev[0].Err != nil {
			t.Errorf("a write accepted before Close failed: %v", ev[0].Err)
			return
		}
	}
}
