package inode

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// RangeLock serialises byte ranges of one file. Fast writes take shared
// locks from Submit and never wait: TryShared succeeds or refuses (the
// write then goes to a worker). Workers and size changes take exclusive
// locks and wait, for each other and for the shared holders to drain.
//
// The shared side takes no mutex: 64 KiB regions hash into 256 buckets
// that count shared holders; exclusive holders sit in a fixed table, a
// bit per entry in use. A shared locker counts itself in its buckets,
// then reads the table; an exclusive locker publishes itself, then waits
// for its buckets to drain (sequentially consistent atomics: one sees the
// other). Meanwhile shared lockers in its buckets back off even where
// their ranges do not overlap, so a stream of them cannot starve it. An
// entry read mid-reuse is a lock the reader need not respect, or one that
// will wait for it: safe either way; nothing is allocated per lock.
//
// Owner: shared by Submits, completers and workers; exMu guards the
// table's changes and is taken by exclusive lockers alone.
type RangeLock struct {
	shared [lockBuckets]atomic.Int32 // shared holders per bucket
	active atomic.Uint64             // bit i: holds[i] is published (held, or draining)
	holds  [maxExclusive]exHold
	exMu   sync.Mutex
	exCond sync.Cond // an exclusive holder left
}

const (
	lockBuckets     = 256
	lockRegionShift = 16 // 64 KiB regions
	maxExclusive    = 64 // per file at once; more lockers wait for an entry
)

// bucketMask is a set of buckets.
type bucketMask [lockBuckets / 64]uint64

func maskOf(off, end int64) bucketMask {
	var m bucketMask
	r0, r1 := off>>lockRegionShift, (end-1)>>lockRegionShift
	if end <= off {
		r1 = r0
	}
	if r1-r0+1 >= lockBuckets {
		for i := range m {
			m[i] = ^uint64(0)
		}
		return m
	}
	for r := r0; r <= r1; r++ {
		b := r % lockBuckets
		m[b/64] |= 1 << (b % 64)
	}
	return m
}

// each calls f for every bucket in m.
func (m *bucketMask) each(f func(b int)) {
	for i, w := range m {
		for w != 0 {
			bit := w & -w
			f(i*64 + bits.TrailingZeros64(bit))
			w &^= bit
		}
	}
}

// exHold is one entry of the exclusive table.
type exHold struct {
	off, end atomic.Int64
	mask     [lockBuckets / 64]atomic.Uint64
	draining atomic.Bool   // taking it: waiting for the shared holders of its buckets
	wake     chan struct{} // capacity 1: a shared holder of its buckets left; made once, under exMu
}

func (h *exHold) meets(m *bucketMask) bool {
	for i := range m {
		if h.mask[i].Load()&m[i] != 0 {
			return true
		}
	}
	return false
}

func (h *exHold) overlaps(off, end int64) bool { return h.off.Load() < end && off < h.end.Load() }

func (l *RangeLock) init() { l.exCond.L = &l.exMu }

// eachActive calls f for every published entry.
func (l *RangeLock) eachActive(f func(h *exHold) bool) {
	for a := l.active.Load(); a != 0; a &= a - 1 {
		if !f(&l.holds[bits.TrailingZeros64(a)]) {
			return
		}
	}
}

// TryShared takes a shared lock of [off, end) unless an exclusive lock
// overlaps it (or is being taken in its buckets); it never waits.
func (l *RangeLock) TryShared(off, end int64) bool {
	m := maskOf(off, end)
	m.each(func(b int) { l.shared[b].Add(1) })
	ok := true
	l.eachActive(func(h *exHold) bool {
		if h.overlaps(off, end) || (h.draining.Load() && h.meets(&m)) {
			ok = false
		}
		return ok
	})
	if !ok {
		l.releaseShared(&m)
	}
	return ok
}

// UnlockShared drops a shared lock TryShared took.
func (l *RangeLock) UnlockShared(off, end int64) {
	m := maskOf(off, end)
	l.releaseShared(&m)
}

func (l *RangeLock) releaseShared(m *bucketMask) {
	m.each(func(b int) { l.shared[b].Add(-1) })
	l.eachActive(func(h *exHold) bool {
		if h.draining.Load() && h.meets(m) {
			select {
			case h.wake <- struct{}{}:
			default:
			}
		}
		return true
	})
}

// LockExclusive waits until [off, end) overlaps no exclusive lock and no
// shared holder is left in its buckets, then holds it.
func (l *RangeLock) LockExclusive(off, end int64) {
	m := maskOf(off, end)
	l.exMu.Lock()
	for l.overlapsExclusiveLocked(off, end) || l.active.Load() == ^uint64(0) {
		l.exCond.Wait()
	}
	i := bits.TrailingZeros64(^l.active.Load())
	h := &l.holds[i]
	if h.wake == nil {
		h.wake = make(chan struct{}, 1)
	}
	h.off.Store(off)
	h.end.Store(end)
	for k := range m {
		h.mask[k].Store(m[k])
	}
	h.draining.Store(true)
	l.active.Or(1 << i)
	l.exMu.Unlock()
	for !l.drained(&m) {
		<-h.wake
	}
	h.draining.Store(false)
}

func (l *RangeLock) overlapsExclusiveLocked(off, end int64) bool {
	found := false
	l.eachActive(func(h *exHold) bool {
		found = h.overlaps(off, end)
		return !found
	})
	return found
}

func (l *RangeLock) drained(m *bucketMask) bool {
	ok := true
	m.each(func(b int) {
		if l.shared[b].Load() != 0 {
			ok = false
		}
	})
	return ok
}

// UnlockExclusive drops the exclusive lock of exactly [off, end).
func (l *RangeLock) UnlockExclusive(off, end int64) {
	l.exMu.Lock()
	defer l.exMu.Unlock()
	for a := l.active.Load(); a != 0; a &= a - 1 {
		i := bits.TrailingZeros64(a)
		if h := &l.holds[i]; h.off.Load() == off && h.end.Load() == end && !h.draining.Load() {
			l.active.And(^(uint64(1) << i))
			break
		}
	}
	l.exCond.Broadcast()
}
