package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// background adds up what pebble's event listener reports: write stalls
// (too many memtables or L0 files waiting for flushes and compactions)
// and the time flushes and compactions took (pebble's Duration: reading,
// building and writing tables). Owner: shared; mu guards all.
type background struct {
	mu    sync.Mutex
	began time.Time // the stall under way
	times backgroundTimes
}

type backgroundTimes struct {
	stalls                        int
	stalled, flushing, compacting time.Duration
}

func (s *background) listener() *pebble.EventListener {
	add := func(f func(*backgroundTimes)) {
		s.mu.Lock()
		f(&s.times)
		s.mu.Unlock()
	}
	return &pebble.EventListener{
		WriteStallBegin: func(pebble.WriteStallBeginInfo) {
			add(func(t *backgroundTimes) { s.began = time.Now(); t.stalls++ })
		},
		WriteStallEnd: func() {
			add(func(t *backgroundTimes) { t.stalled += time.Since(s.began) })
		},
		FlushEnd: func(info pebble.FlushInfo) {
			add(func(t *backgroundTimes) { t.flushing += info.Duration })
		},
		CompactionEnd: func(info pebble.CompactionInfo) {
			add(func(t *backgroundTimes) { t.compacting += info.Duration })
		},
	}
}

func (s *background) read() backgroundTimes {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.times
}

// pebbleCounts is what a phase's pebble.Metrics and background work are
// compared by.
type pebbleCounts struct {
	backgroundTimes
	hits, miss  int64
	compactions int64
	kinds       [4]int64 // compactions that rewrote data (default), moved a file, were triggered by reads, other
	flushes     int64
	flushed     uint64 // bytes of tables flushed, and written by compactions, all levels
	compacted   uint64
	levels      string // each level's tables and MiB at the end
}

func readPebble(db *pebble.DB, s *background) pebbleCounts {
	m := db.Metrics()
	c := pebbleCounts{backgroundTimes: s.read(), hits: m.BlockCache.Hits, miss: m.BlockCache.Misses,
		compactions: m.Compact.Count, flushes: m.Flush.Count,
		kinds: [4]int64{m.Compact.DefaultCount, m.Compact.MoveCount, m.Compact.ReadCount,
			m.Compact.Count - m.Compact.DefaultCount - m.Compact.MoveCount - m.Compact.ReadCount}}
	for i, l := range m.Levels {
		c.flushed += l.TableBytesFlushed
		c.compacted += l.TableBytesCompacted
		if l.TablesCount > 0 {
			c.levels += fmt.Sprintf(" L%d %d/%.0f", i, l.TablesCount, float64(l.TablesSize)/(1<<20))
		}
	}
	return c
}

func printPebble(a, b pebbleCounts) {
	hits, miss := b.hits-a.hits, b.miss-a.miss
	fmt.Printf("           pebble: %d write stalls, %.0f ms stalled; block cache %.1f%% hits of %d; %d flushes, %d compactions (%d default, %d moves, %d read-triggered, %d other)\n",
		b.stalls-a.stalls, ms(b.stalled-a.stalled), 100*float64(hits)/float64(max(hits+miss, 1)), hits+miss,
		b.flushes-a.flushes, b.compactions-a.compactions,
		b.kinds[0]-a.kinds[0], b.kinds[1]-a.kinds[1], b.kinds[2]-a.kinds[2], b.kinds[3]-a.kinds[3])
	fmt.Printf("           pebble: %.0f MiB flushed in %.0f ms, %.0f MiB written by compactions in %.0f ms; tables/MiB at the end:%s\n",
		mib(b.flushed-a.flushed), ms(b.flushing-a.flushing), mib(b.compacted-a.compacted), ms(b.compacting-a.compacting), b.levels)
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
func mib(n uint64) float64       { return float64(n) / (1 << 20) }
