package aio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"
)

// handleSet opens n handles of one path: all from one Runtime, or spread
// over two Runtimes of this process.
func handleSet(t *testing.T, path string, n int, twoRuntimes bool) []*File {
	t.Helper()
	rts := []*Runtime{newRuntime(t, Config{})}
	if twoRuntimes {
		rts = append(rts, newRuntime(t, Config{}))
	}
	hs := make([]*File, n)
	for i := range hs {
		hs[i] = openFile(t, rts[i%len(rts)], path)
	}
	return hs
}

// piece is one write of the multi-handle test: [off, end) written by
// handle h with writer w's pattern.
type piece struct {
	off, end int64
	h, w     int
}

// cutPieces cuts [base, base+span) into pieces of 1 to maxLen bytes,
// dealt at random to handles and to writers; about one in eight is left
// unwritten, so that what was there before must survive too.
func cutPieces(rng *rand.Rand, base, span, maxLen int64, handles, writers int) []piece {
	var ps []piece
	for off := base; off < base+span; {
		end := min(off+1+rng.Int64N(maxLen), base+span)
		if rng.IntN(8) != 0 {
			ps = append(ps, piece{off: off, end: end, h: rng.IntN(handles), w: rng.IntN(writers)})
		}
		off = end
	}
	return ps
}

// TestHandlesShareOneState: 2 and 4 handles of one file, from separate
// rt.Open calls and from two Runtimes, written from many goroutines with
// disjoint byte-unaligned ranges that share filesystem blocks, each
// writer its own pattern, on a written, a fallocate'd and an empty file.
// After every handle's Sync and Close, every byte and the size equal the
// model. With one state per handle, their read-modify-writes of shared
// edge units and their cut-backs undo each other's writes.
func TestHandlesShareOneState(t *testing.T) {
	const span, base, maxLen, writers = 400_000, 777, 2000, 8
	for _, handles := range []int{2, 4} {
		for _, two := range []bool{false, true} {
			for _, target := range []string{"written", "fallocated", "empty"} {
				name := fmt.Sprintf("handles=%d/runtimes=%d/%s", handles, map[bool]int{false: 1, true: 2}[two], target)
				t.Run(name, func(t *testing.T) {
					testHandlesShareOneState(t, handles, two, target, span, base, maxLen, writers)
				})
			}
		}
	}
}

func testHandlesShareOneState(t *testing.T, handles int, two bool, target string, span, base, maxLen int64, writers int) {
	path := tempPath(t)
	prior := int64(0)
	switch target {
	case "written":
		prior = base + span + 3000
		old := make([]byte, prior)
		for i := range old {
			old[i] = 0xEE
		}
		if err := os.WriteFile(path, old, 0o600); err != nil {
			t.Fatal(err)
		}
	case "fallocated":
		rt := newRuntime(t, Config{})
		f := openFile(t, rt, path)
		prior = base + span + 3000
		if err := f.Allocate(0, prior); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	ps := cutPieces(rng, base, span, maxLen, handles, writers)
	model := make([]byte, prior)
	if target == "written" {
		for i := range model {
			model[i] = 0xEE
		}
	}
	for _, p := range ps {
		if p.end > int64(len(model)) {
			model = append(model, make([]byte, p.end-int64(len(model)))...)
		}
		for o := p.off; o < p.end; o++ {
			model[o] = pattern(p.w, o)
		}
	}
	hs := handleSet(t, path, handles, two)
	order := rng.Perm(len(ps))
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, i := range order {
				p := ps[i]
				if p.w != w {
					continue
				}
				buf := make([]byte, p.end-p.off)
				for o := p.off; o < p.end; o++ {
					buf[o-p.off] = pattern(w, o)
				}
				if _, err := hs[p.h].WriteAt(buf, p.off); err != nil {
					errs <- fmt.Errorf("writer %d, handle %d, at %d: %w", w, p.h, p.off, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i, h := range hs {
		if err := h.Sync(); err != nil {
			t.Fatalf("handle %d Sync: %v", i, err)
		}
	}
	for i, h := range hs {
		if err := h.Close(); err != nil {
			t.Fatalf("handle %d Close: %v", i, err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkAgainstModel(t, got, model, ps, seed)
}

// checkAgainstModel compares the file with the model, naming the first
// wrong byte, the piece that wrote it and how many pieces came out wrong.
func checkAgainstModel(t *testing.T, got, model []byte, ps []piece, seed uint64) {
	t.Helper()
	if len(got) != len(model) {
		t.Errorf("size %d, want %d (seed %d)", len(got), len(model), seed)
	}
	if bytes.Equal(got, model) {
		return
	}
	lost := 0
	for _, p := range ps {
		if p.end > int64(len(got)) || !bytes.Equal(got[p.off:p.end], model[p.off:p.end]) {
			lost++
		}
	}
	i := firstDiff(got, model)
	t.Fatalf("byte %d is %#x, want %#x; %d of %d writes lost or damaged (seed %d)",
		i, at(got, i), at(model, i), lost, len(ps), seed)
}

func at(b []byte, i int) int {
	if i < len(b) {
		return int(b[i])
	}
	return -1
}

// TestTwoHandlesSimplest is the smallest case the issue names: A writes
// [0,10000), B writes [10000,15000), both Sync and Close.
func TestTwoHandlesSimplest(t *testing.T) {
	for _, two := range []bool{false, true} {
		t.Run(fmt.Sprintf("runtimes=%d", map[bool]int{false: 1, true: 2}[two]), func(t *testing.T) {
			path := tempPath(t)
			hs := handleSet(t, path, 2, two)
			a, b := bytes.Repeat([]byte{0xA}, 10000), bytes.Repeat([]byte{0xB}, 5000)
			if _, err := hs[0].WriteAt(a, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := hs[1].WriteAt(b, 10000); err != nil {
				t.Fatal(err)
			}
			for _, h := range hs {
				if err := h.Sync(); err != nil {
					t.Fatal(err)
				}
			}
			for _, h := range hs {
				if err := h.Close(); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want := append(a, b...)
			if !bytes.Equal(got, want) {
				i := firstDiff(got, want)
				t.Fatalf("size %d (want %d); byte %d is %#x, want %#x", len(got), len(want), i, at(got, i), at(want, i))
			}
		})
	}
}

// TestReaderSeesWritersSize: a second handle, opened for reading, sees the
// writer's logical size while the writer appends (not the append-ahead
// size), and reads io.EOF there, never the preallocated zeros as data.
func TestReaderSeesWritersSize(t *testing.T) {
	for _, two := range []bool{false, true} {
		t.Run(fmt.Sprintf("runtimes=%d", map[bool]int{false: 1, true: 2}[two]), func(t *testing.T) {
			path := tempPath(t)
			rts := []*Runtime{newRuntime(t, Config{})}
			if two {
				rts = append(rts, newRuntime(t, Config{}))
			}
			w := openFile(t, rts[0], path)
			r, err := rts[len(rts)-1].Open(path, os.O_RDONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			rec := bytes.Repeat([]byte{0x5A}, 1000)
			buf := make([]byte, 4096)
			for i := range 200 {
				if _, err := w.WriteAt(rec, w.Size()); err != nil {
					t.Fatal(err)
				}
				want := int64(i+1) * int64(len(rec))
				if ws, rs := w.Size(), r.Size(); ws != want || rs != want {
					t.Fatalf("after %d appends: writer Size %d, reader Size %d, want %d", i+1, ws, rs, want)
				}
				n, err := r.ReadAt(buf, want-10)
				if n != 10 || err != io.EOF {
					t.Fatalf("reader ReadAt(%d) at size %d: n=%d err=%v, want 10, io.EOF", len(buf), want, n, err)
				}
				if !bytes.Equal(buf[:n], rec[:10]) {
					t.Fatalf("reader read %x, want %x", buf[:n], rec[:10])
				}
			}
			// The reader keeps the file open: the writer's Sync, not its
			// Close, makes the size on disk exact; the last Close keeps it.
			if err := w.Sync(); err != nil {
				t.Fatal(err)
			}
			checkDiskSize(t, path, 200*int64(len(rec)), "after the writer's Sync")
			if err := errors.Join(w.Close(), r.Close()); err != nil {
				t.Fatal(err)
			}
			checkDiskSize(t, path, 200*int64(len(rec)), "after the last Close")
		})
	}
}

// TestReopenAfterRenameAndUnlink: a file renamed while open is still the
// same file to a handle opened by its new name; a file unlinked while open
// is a new file to a handle opened by the old name, as in the kernel.
func TestReopenAfterRenameAndUnlink(t *testing.T) {
	rt := newRuntime(t, Config{})
	dir := t.TempDir()
	a, b := dir+"/a", dir+"/b"
	f := openFile(t, rt, a)
	if _, err := f.WriteAt([]byte("hello, world"), 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(a, b); err != nil {
		t.Fatal(err)
	}
	g := openFile(t, rt, b)
	if g.Size() != 12 {
		t.Fatalf("renamed file: Size %d through the new name, want 12", g.Size())
	}
	if _, err := g.WriteAt([]byte("W"), 7); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 12)
	if _, err := f.ReadAt(buf, 0); err != nil || string(buf) != "hello, World" {
		t.Fatalf("old handle reads %q, %v; want the new handle's write", buf, err)
	}
	g.Close()
	if err := os.Remove(b); err != nil {
		t.Fatal(err)
	}
	h := openFile(t, rt, b) // a new file of that name
	if h.Size() != 0 {
		t.Fatalf("new file after unlink: Size %d, want 0", h.Size())
	}
	if _, err := h.WriteAt([]byte("new"), 0); err != nil {
		t.Fatal(err)
	}
	if f.Size() != 12 {
		t.Fatalf("unlinked file: Size %d, want 12", f.Size())
	}
	if err := errors.Join(f.Close(), h.Close()); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(b); err != nil || string(got) != "new" {
		t.Fatalf("new file holds %q, %v", got, err)
	}
}

func checkDiskSize(t *testing.T, path string, want int64, when string) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != want {
		t.Fatalf("size on disk %s: %d, want %d", when, st.Size(), want)
	}
}

// TestSubmitSyncWaitsForNoSizeChange: Submit of an fsync looks at the
// sticky sync error on the submitting goroutine; that look must not wait
// for the inode's size-change lock, which a worker holds across
// fallocate and ftruncate (Submit never waits for a lock another I/O
// holds).
func TestSubmitSyncWaitsForNoSizeChange(t *testing.T) {
	rt := newRuntime(t, Config{})
	f := openFile(t, rt, tempPath(t))
	ctx, err := rt.NewContext(1)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	f.ino.Mu.Lock() // as an extension or a cut-back in progress
	submitted := make(chan error, 1)
	go func() {
		_, err := ctx.Submit(&IOCB{Op: OpFdatasync, File: f})
		submitted <- err
	}()
	select {
	case err := <-submitted:
		f.ino.Mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		f.ino.Mu.Unlock()
		t.Fatal("Submit of an fdatasync waited for the inode's size-change lock")
	}
	var ev [1]Event
	if _, err := ctx.GetEvents(1, ev[:], 10*time.Second); err != nil || ev[0].Err != nil {
		t.Fatalf("the fdatasync: %v, %v", err, ev[0].Err)
	}
}
