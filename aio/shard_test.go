package aio

import (
	"sync/atomic"
	"testing"
)

// TestShardsParkInNetpoller checks that, on this kernel, every shard
// sleeps in Go's netpoller on the eventfd registered with its ring (where
// its thread gives its P back), not in io_uring_enter.
func TestShardsParkInNetpoller(t *testing.T) {
	skipWithoutRing(t, "tests the shards of the io_uring backend")
	rt := newRuntime(t, Config{Shards: 2})
	for _, s := range rt.shards {
		if !s.parks {
			t.Fatalf("shard %d sleeps in io_uring_enter: the ring refused the eventfd", s.id)
		}
	}
}

// TestShardsSleepInRing runs the deep-queue and concurrency checks with
// shards that sleep in io_uring_enter, woken by a poll of the eventfd in
// the ring: the way taken when a kernel will not register the eventfd.
func TestShardsSleepInRing(t *testing.T) {
	skipWithoutRing(t, "tests the shards of the io_uring backend")
	var inRing, parked atomic.Int32
	testSleepInRing = true
	testRingHook = func(s *shard) {
		if s.parks {
			parked.Add(1)
		} else {
			inRing.Add(1)
		}
	}
	t.Cleanup(func() { testSleepInRing, testRingHook = false, nil })
	t.Run("ManyInFlight", TestManyInFlight)
	t.Run("DisjointUnalignedWriters", TestDisjointUnalignedWritersLoseNothing)
	t.Run("AppendersAndReaders", TestAppendersAndReaders)
	if inRing.Load() == 0 || parked.Load() != 0 {
		t.Fatalf("%d shards slept in the ring and %d parked: want all in the ring", inRing.Load(), parked.Load())
	}
}
