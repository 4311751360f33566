package aio

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// TestDisjointUnalignedWritersLoseNothing: 16 goroutines write disjoint,
// byte-unaligned ranges that share filesystem blocks, each its own pattern,
// in random pieces and order, into a written file, a fallocate'd file and
// past the end of an empty file. Every byte must equal the model: a lost
// read-modify-write (two edges of one block rewritten at once) shows as a
// neighbour's bytes reverted.
func TestDisjointUnalignedWritersLoseNothing(t *testing.T) {
	const writers, span, base = 16, 3000, 123
	for _, target := range []string{"written", "fallocated", "past-eof"} {
		t.Run(target, func(t *testing.T) {
			rt := newRuntime(t, Config{})
			path := tempPath(t)
			size := int64(base + writers*span + 5000)
			model := make([]byte, size)
			switch target {
			case "written":
				for i := range model {
					model[i] = 0xEE
				}
				if err := os.WriteFile(path, model, 0o600); err != nil {
					t.Fatal(err)
				}
			case "fallocated":
				f := openFile(t, rt, path)
				if err := f.Allocate(0, size); err != nil {
					t.Fatal(err)
				}
				f.Close()
			}
			f := openFile(t, rt, path)
			seed := rand.Uint64()
			t.Logf("seed %d", seed)
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for g := range writers {
				lo := int64(base + g*span)
				for p := lo; p < lo+span; p++ {
					model[p] = pattern(g, p)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(seed, uint64(g)))
					// Cut the range into random pieces, written in random order.
					cuts := []int64{lo, lo + span}
					for range 4 {
						cuts = append(cuts, lo+1+rng.Int64N(span-1))
					}
					sortInt64(cuts)
					order := rng.Perm(len(cuts) - 1)
					for _, i := range order {
						a, b := cuts[i], cuts[i+1]
						if a == b {
							continue
						}
						buf := make([]byte, b-a)
						for p := a; p < b; p++ {
							buf[p-a] = pattern(g, p)
						}
						if _, err := f.WriteAt(buf, a); err != nil {
							errs <- fmt.Errorf("writer %d at %d: %w", g, a, err)
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
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if target == "past-eof" {
				model = model[:base+writers*span]
			}
			if len(got) != len(model) {
				t.Fatalf("size %d, want %d", len(got), len(model))
			}
			if i := firstDiff(got, model); i >= 0 {
				t.Fatalf("seed %d: byte %d is %d, want %d (writer %d's range)", seed, i, got[i], model[i], (int64(i)-base)/span)
			}
			t.Logf("%+v", rt.Stats())
		})
	}
}

// TestAppendersAndReaders: 8 goroutines append at increasing offsets
// (taken from a shared counter) while 2 readers read back: a reader sees
// only zeros or the bytes written there, and Size() is never below the end
// of an acknowledged append. Then Sync, and the file reopened with os.Open
// has exactly the logical size and every byte.
func TestAppendersAndReaders(t *testing.T) {
	rt := newRuntime(t, Config{})
	path := tempPath(t)
	f := openFile(t, rt, path)
	const appenders, perAppender = 8, 150
	var next, acked atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	fail := make(chan error, 16)
	for a := range appenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(a), 2))
			for range perAppender {
				size := int64(4096)
				if rng.IntN(2) == 0 {
					size = 1 + rng.Int64N(3000) // unaligned appends too
				}
				off := next.Add(size) - size
				buf := make([]byte, size)
				for i := range buf {
					buf[i] = pattern(0, off+int64(i))
				}
				if _, err := f.WriteAt(buf, off); err != nil {
					fail <- err
					return
				}
				for end := off + size; ; {
					cur := acked.Load()
					if cur >= end || acked.CompareAndSwap(cur, end) {
						break
					}
				}
			}
		}()
	}
	var readers sync.WaitGroup
	for range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			buf := make([]byte, 8192)
			rng := rand.New(rand.NewPCG(9, 9))
			for {
				select {
				case <-stop:
					return
				default:
				}
				ack := acked.Load()
				if size := f.Size(); size < ack {
					fail <- fmt.Errorf("Size() %d below an acknowledged end %d", size, ack)
					return
				}
				if ack == 0 {
					continue
				}
				off := rng.Int64N(ack)
				n, err := f.ReadAt(buf, off)
				if err != nil && n == len(buf) {
					fail <- err
					return
				}
				for i := range n {
					if b := buf[i]; b != 0 && b != pattern(0, off+int64(i)) {
						fail <- fmt.Errorf("read at %d: byte %d is %d: neither zero nor what was written", off, off+int64(i), b)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(fail)
	for err := range fail {
		t.Fatal(err)
	}
	total := next.Load()
	if f.Size() != total {
		t.Fatalf("Size %d after all appends, want %d", f.Size(), total)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Size() != total {
		t.Fatalf("after Sync the file on disk is %d bytes (%v), want exactly the logical size %d", st.Size(), err, total)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if got[i] != pattern(0, int64(i)) {
			t.Fatalf("byte %d is %d after reopen, want %d", i, got[i], pattern(0, int64(i)))
		}
	}
	t.Logf("%d appends, %d bytes; %+v", appenders*perAppender, total, rt.Stats())
}

func sortInt64(s []int64) { slices.Sort(s) }

func firstDiff(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
