package inode

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRangeLockExcludes: goroutines take shared locks (never waiting, as
// Submit does) and exclusive ones (as workers do) on random ranges that
// cross buckets and collide; a model of every block checks that no block
// is ever held exclusively by one and in any way by another.
func TestRangeLockExcludes(t *testing.T) {
	var l RangeLock
	l.init()
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	const blocks = 64 // 64 blocks of 16 KiB: 1 MiB, 16 regions, many collisions
	const block = 16 << 10
	var model [blocks]atomic.Int32 // +1 per shared holder, +1000 per exclusive
	check := func(lo, hi int, add int32) error {
		for b := lo; b < hi; b++ {
			v := model[b].Add(add)
			if add > 0 && (v > 1000 && v%1000 != 0 || v >= 2000) {
				return fmt.Errorf("block %d held exclusively beside another holder (%d)", b, v)
			}
		}
		return nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	var sharedOK, sharedRefused, exclusive atomic.Int64
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(g)))
			for range 3000 {
				lo := rng.IntN(blocks)
				hi := lo + 1 + rng.IntN(min(blocks-lo, 8))
				off, end := int64(lo)*block, int64(hi)*block
				if g < 6 { // shared
					if !l.TryShared(off, end) {
						sharedRefused.Add(1)
						continue
					}
					sharedOK.Add(1)
					if err := check(lo, hi, 1); err != nil {
						errs <- err
						return
					}
					check(lo, hi, -1)
					l.UnlockShared(off, end)
					continue
				}
				l.LockExclusive(off, end)
				exclusive.Add(1)
				if err := check(lo, hi, 1000); err != nil {
					errs <- err
					return
				}
				check(lo, hi, -1000)
				l.UnlockExclusive(off, end)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the lockers are stuck: an exclusive locker was never woken")
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("shared: %d taken, %d refused; exclusive: %d", sharedOK.Load(), sharedRefused.Load(), exclusive.Load())
	if sharedOK.Load() == 0 || exclusive.Load() != 2*3000 {
		t.Fatal("the run did not exercise both sides")
	}
	if l.active.Load() != 0 {
		t.Fatalf("exclusive entries left published: %b", l.active.Load())
	}
	for b := range l.shared {
		if n := l.shared[b].Load(); n != 0 {
			t.Fatalf("bucket %d counts %d shared holders after all unlocked", b, n)
		}
	}
}

// TestExclusiveNotStarved: a stream of shared lockers in an exclusive
// locker's bucket, on ranges that do not overlap its own, does not keep
// it waiting: while it drains they back off, and the holders from before
// it leave.
func TestExclusiveNotStarved(t *testing.T) {
	var l RangeLock
	l.init()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			off := int64(g+1) * 4096 // the same 64 KiB region as [0, 4096)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if l.TryShared(off, off+4096) {
					l.UnlockShared(off, off+4096)
				}
				runtime.Gosched() // on two Ps, let the exclusive locker run
			}
		}()
	}
	got := make(chan struct{})
	go func() {
		for range 200 {
			l.LockExclusive(0, 4096)
			l.UnlockExclusive(0, 4096)
		}
		close(got)
	}()
	select {
	case <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("an exclusive locker starved behind shared lockers in its bucket")
	}
	close(stop)
	wg.Wait()
}
