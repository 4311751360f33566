package engine

import (
	"testing"

	"github.com/nowaitio/nowait/aio/internal/req"
	"github.com/nowaitio/nowait/aio/internal/stats"
	"github.com/nowaitio/nowait/bio"
	"github.com/nowaitio/nowait/ring"
)

// TestWakeSurvivesAnotherReaper: io_uring_enter waits for a CQE past the
// head it reads on entry, so a wake-up posted for a goroutine about to
// wait in the ring (counted in waiting, not yet in the kernel) and reaped
// by another goroutine first (the helper, a Close) would leave the waiter
// asleep for ever. Whoever reaps a wake-up while someone is counted as
// waiting posts another.
func TestWakeSurvivesAnotherReaper(t *testing.T) {
	pool, err := bio.NewPool(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var c stats.Counters
	env := Env{Stats: &c, Pool: pool, ToWorker: func(*req.Request) {}, FlushWorkers: func() {}}
	x, err := NewRing(&env, 8)
	if ring.IsUnavailable(err) {
		t.Skipf("io_uring unavailable here (%v): the wake-up is the ring's", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	x.waiting.Add(1) // a driver, between its last look and io_uring_enter
	x.Kick()
	if x.k.CQReady() == 0 {
		t.Fatal("Kick posted no CQE for a waiter")
	}
	x.cqMu.Lock()
	reaped := x.reapLocked() // another goroutine reaps first
	x.cqMu.Unlock()
	if reaped == 0 {
		t.Fatal("the other goroutine reaped nothing: the race was not played")
	}
	if x.k.CQReady() == 0 {
		t.Fatal("the wake-up posted for a waiter was reaped by another goroutine and not passed on: the waiter sleeps for ever")
	}
	x.waiting.Add(-1)
	// The waiter reaps its wake-up itself; nothing is posted again.
	x.cqMu.Lock()
	x.reapLocked()
	x.cqMu.Unlock()
	if n := x.k.CQReady(); n != 0 {
		t.Fatalf("%d CQEs left after the waiter reaped its wake-up, want 0", n)
	}
}
