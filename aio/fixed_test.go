package aio

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestFixedFiles: with two fixed slots per ring, the first two files take
// them and the third uses its descriptor; a closed file's slot goes to the
// next file opened, and I/O through a reused slot reaches the new file,
// never the old one. Each file's bytes on disk are its own.
func TestFixedFiles(t *testing.T) {
	rt := newRuntime(t, Config{FixedFiles: 2})
	dir := t.TempDir()
	want := func(n int64) int64 {
		if rt.Stats().Backend == BackendSyscall.String() {
			return 0 // no rings, no slots
		}
		return n
	}
	files := make([]*File, 4)
	paths := make([]string, 4)
	for i := range 3 {
		paths[i] = filepath.Join(dir, string(rune('a'+i)))
		files[i] = openFile(t, rt, paths[i])
	}
	if got := rt.Stats().FixedFiles; got != want(2) {
		t.Fatalf("3 files open, 2 slots: FixedFiles = %d, want %d", got, want(2))
	}
	block := func(i int) []byte { return bytes.Repeat([]byte{byte('A' + i)}, 8192) }
	for i := range 3 {
		if _, err := files[i].WriteAt(block(i), 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := files[0].Close(); err != nil {
		t.Fatal(err)
	}
	if got := rt.Stats().FixedFiles; got != want(1) {
		t.Fatalf("after a Close: FixedFiles = %d, want %d", got, want(1))
	}
	paths[3] = filepath.Join(dir, "d")
	files[3] = openFile(t, rt, paths[3]) // takes the slot files[0] gave back
	if got := rt.Stats().FixedFiles; got != want(2) {
		t.Fatalf("slot not reused: FixedFiles = %d, want %d", got, want(2))
	}
	if _, err := files[3].WriteAt(block(3), 0); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 8192)
	for i := 1; i < 4; i++ {
		if n, err := files[i].ReadAt(got, 0); n != len(got) || err != nil || !bytes.Equal(got, block(i)) {
			t.Fatalf("file %d read back: %d, %v, first byte %q", i, n, err, got[0])
		}
	}
	for i := 1; i < 4; i++ {
		if err := files[i].Close(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 4 {
		b, err := os.ReadFile(paths[i])
		if err != nil || !bytes.Equal(b, block(i)) {
			t.Fatalf("%s on disk: %d bytes, %v; want its own 8 KiB", paths[i], len(b), err)
		}
	}
	if got := rt.Stats().FixedFiles; got != 0 {
		t.Fatalf("all closed: FixedFiles = %d", got)
	}
}

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
