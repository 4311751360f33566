package bio

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/nowaitio/nowait/ring"
)

func TestPoolGetPut(t *testing.T) {
	p, err := NewPool([]PoolClass{{64 << 10, 2}, {4096, 3}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.MaxSize() != 64<<10 || len(p.Region()) != 2*64<<10+3*4096 {
		t.Fatalf("MaxSize %d, Region %d", p.MaxSize(), len(p.Region()))
	}
	var got []Buffer
	for range 3 {
		b, ok := p.Get(100)
		if !ok || len(b.B) != 100 || cap(b.B) != 4096 || ring.Addr(b.B)%4096 != 0 {
			t.Fatalf("Get(100): ok %v len %d cap %d addr %#x", ok, len(b.B), cap(b.B), ring.Addr(b.B))
		}
		got = append(got, b)
	}
	// The small class is empty: a small request takes a large buffer.
	b, ok := p.Get(100)
	if !ok || cap(b.B) != 64<<10 {
		t.Fatalf("Get(100) with the 4K class empty: ok %v cap %d", ok, cap(b.B))
	}
	got = append(got, b)
	b, _ = p.Get(64 << 10)
	got = append(got, b)
	if _, ok := p.Get(1); ok {
		t.Fatal("Get from an exhausted pool succeeded")
	}
	if _, ok := p.Get(64<<10 + 1); ok {
		t.Fatal("Get larger than MaxSize succeeded")
	}
	// Buffers never overlap.
	for i, x := range got {
		for _, y := range got[i+1:] {
			xa, ya := ring.Addr(x.B), ring.Addr(y.B)
			if xa < ya+uintptr(cap(y.B)) && ya < xa+uintptr(cap(x.B)) {
				t.Fatal("two buffers overlap")
			}
		}
	}
	if err := p.Put(got[0]); err != nil {
		t.Fatal(err)
	}
	if err := p.Put(got[0]); err == nil {
		t.Fatal("double Put accepted")
	}
	if err := p.Put(Buffer{}); err == nil {
		t.Fatal("Put of a zero Buffer accepted")
	}
	if b, ok := p.Get(4096); !ok || ring.Addr(b.B) != ring.Addr(got[0].B) {
		t.Fatal("the returned buffer is not handed out again")
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Put(got[1]); !errors.Is(err, ErrPoolClosed) {
		t.Fatalf("Put after Close: %v", err)
	}
	if _, ok := p.Get(1); ok {
		t.Fatal("Get after Close succeeded")
	}
}

func TestPoolRejectsBadClasses(t *testing.T) {
	for _, cs := range [][]PoolClass{{{1000, 1}}, {{4096, 0}}, {{0, 1}}, {}} {
		if p, err := NewPool(cs); err == nil {
			p.Close()
			t.Errorf("NewPool(%v) accepted", cs)
		}
	}
}

// TestPoolRegistersWithRing: the whole pool is one fixed buffer.
func TestPoolRegistersWithRing(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p, err := NewPool(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	r, err := ring.New(ring.Config{Entries: 4})
	if ring.IsUnavailable(err) {
		t.Skipf("registers the pool with a real ring: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.RegisterBuffers([][]byte{p.Region()}); err != nil {
		t.Fatalf("register the pool: %v", err)
	}
}

// TestPoolConcurrent: goroutines take and give back buffers at once, as
// Submits and completions do. No buffer is ever held by two at a time
// (each marks its buffer and finds its mark intact before Put), none is
// lost.
func TestPoolConcurrent(t *testing.T) {
	p, err := NewPool([]PoolClass{{4096, 8}, {64 << 10, 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const goroutines, rounds = 8, 20000
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				b, ok := p.Get(1 + (g*rounds+i)%4096)
				if !ok {
					runtime.Gosched()
					continue
				}
				mark := byte(g + 1)
				b.B[0], b.B[len(b.B)-1] = mark, mark
				runtime.Gosched()
				if b.B[0] != mark || b.B[len(b.B)-1] != mark {
					errs <- fmt.Errorf("goroutine %d: a buffer it held was handed to another", g)
					return
				}
				if err := p.Put(b); err != nil {
					errs <- err
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
	held := 0
	for {
		if _, ok := p.Get(1); !ok {
			break
		}
		held++
	}
	if held != 10 {
		t.Fatalf("%d buffers left to take after the run, want all 10", held)
	}
}
