package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// stalls adds up the time pebble held writes back (write stalls: too
// many memtables or L0 files waiting for flushes and compactions). Owner:
// shared; mu guards all.
type stalls struct {
	mu    sync.Mutex
	began time.Time
	total time.Duration
	count int
}

func (s *stalls) listener() *pebble.EventListener {
	return &pebble.EventListener{
		WriteStallBegin: func(pebble.WriteStallBeginInfo) {
			s.mu.Lock()
			s.began = time.Now()
			s.count++
			s.mu.Unlock()
		},
		WriteStallEnd: func() {
			s.mu.Lock()
			s.total += time.Since(s.began)
			s.mu.Unlock()
		},
	}
}

func (s *stalls) read() (int, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count, s.total
}

// pebbleCounts is what a phase's pebble.Metrics and stalls are compared
// by.
type pebbleCounts struct {
	stalls      int
	stalled     time.Duration
	hits, miss  int64
	compactions int64
	flushes     int64
}

func readPebble(db *pebble.DB, s *stalls) pebbleCounts {
	m := db.Metrics()
	n, d := s.read()
	return pebbleCounts{stalls: n, stalled: d, hits: m.BlockCache.Hits, miss: m.BlockCache.Misses,
		compactions: m.Compact.Count, flushes: m.Flush.Count}
}

func printPebble(a, b pebbleCounts) {
	hits, miss := b.hits-a.hits, b.miss-a.miss
	fmt.Printf("           pebble: %d write stalls, %.0f ms stalled; block cache %.1f%% hits of %d; %d flushes, %d compactions\n",
		b.stalls-a.stalls, float64(b.stalled-a.stalled)/1e6, 100*float64(hits)/float64(max(hits+miss, 1)), hits+miss,
		b.flushes-a.flushes, b.compactions-a.compactions)
}
