package queue

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestSlotsConcurrent: goroutines take and give back numbers at once, as
// Submits and GetEvents do with a Context's slots: no number is ever held
// by two at a time, none is lost, and no more than n are handed out.
func TestSlotsConcurrent(t *testing.T) {
	const n = 70 // not a multiple of 64: the padding bits must stay taken
	s := NewSlots(n)
	var mine []int32
	for range n {
		v, ok := s.Take()
		if !ok || v < 0 || v >= n {
			t.Fatalf("take %d of %d: %d, %v", len(mine), n, v, ok)
		}
		mine = append(mine, v)
	}
	if _, ok := s.Take(); ok || s.Free() != 0 {
		t.Fatalf("all %d taken, and one more was handed out (free %d)", n, s.Free())
	}
	for _, v := range mine {
		s.Put(v)
	}
	var held [n]atomic.Int32 // 1 while some goroutine holds the number
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20000 {
				v, ok := s.Take()
				if !ok {
					continue
				}
				if !held[v].CompareAndSwap(0, 1) {
					errs <- "a number was handed to two holders"
					return
				}
				held[v].Store(0)
				s.Put(v)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	seen := map[int32]bool{}
	for {
		v, ok := s.Take()
		if !ok {
			break
		}
		if seen[v] {
			t.Fatalf("number %d twice", v)
		}
		seen[v] = true
	}
	if len(seen) != n {
		t.Fatalf("%d numbers at the end, want %d", len(seen), n)
	}
}

type item struct {
	Node
	v int
}

// TestMPSCOrderPerProducer: every item pushed is popped once, and each
// producer's items come out in the order it pushed them.
func TestMPSCOrderPerProducer(t *testing.T) {
	var q MPSC
	q.Init()
	const producers, per = 4, 5000
	items := make([]item, producers*per)
	for i := range items {
		items[i].Owner = &items[i]
		items[i].v = i
	}
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				q.Push(&items[p*per+i].Node)
			}
		}()
	}
	last := make([]int, producers)
	for i := range last {
		last[i] = -1
	}
	got := 0
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for got < len(items) {
		n := q.Pop()
		if n == nil {
			select {
			case <-done:
				if q.Empty() {
					t.Fatalf("%d of %d items popped, the queue is empty", got, len(items))
				}
			default:
			}
			continue
		}
		it := n.Owner.(*item)
		p, i := it.v/per, it.v%per
		if i <= last[p] {
			t.Fatalf("producer %d: item %d after %d", p, i, last[p])
		}
		last[p] = i
		got++
	}
}
