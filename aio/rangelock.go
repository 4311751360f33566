package aio

import "sync"

// rangeLock serialises byte ranges of one file. Fast-path writes take
// shared locks without ever waiting (tryShared: on a conflict the write
// goes to a worker instead); workers take exclusive locks for
// read-modify-write, extension and truncation, and wait for the shared
// holders to drain. Two shared locks never conflict, so disjoint and
// overlapping fast writes proceed together, while a read-modify-write of a
// unit never runs beside a write into that unit.
//
// Owner: shared by shards and workers; mu guards the held list.
type rangeLock struct {
	mu   sync.Mutex
	cond sync.Cond
	held []heldRange
}

type heldRange struct {
	off, end  int64
	exclusive bool
}

func (l *rangeLock) init() { l.cond.L = &l.mu }

func (l *rangeLock) conflictsLocked(off, end int64, exclusive bool) bool {
	for _, h := range l.held {
		if h.off < end && off < h.end && (exclusive || h.exclusive) {
			return true
		}
	}
	return false
}

// tryShared takes a shared lock of [off, end) if no exclusive lock overlaps.
func (l *rangeLock) tryShared(off, end int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conflictsLocked(off, end, false) {
		return false
	}
	l.held = append(l.held, heldRange{off, end, false})
	return true
}

// lockExclusive waits until [off, end) overlaps no lock, then takes it.
// A shared holder may be a fast write in a context ring that no one
// reaps while its user waits in the runtime: the reaper runs meanwhile.
func (l *rangeLock) lockExclusive(off, end int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	helping := false
	for l.conflictsLocked(off, end, true) {
		if !helping {
			helping = reap.help()
		}
		l.cond.Wait()
	}
	if helping {
		reap.unhelp()
	}
	l.held = append(l.held, heldRange{off, end, true})
}

func (l *rangeLock) unlock(off, end int64, exclusive bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, h := range l.held {
		if h.off == off && h.end == end && h.exclusive == exclusive {
			l.held[i] = l.held[len(l.held)-1]
			l.held = l.held[:len(l.held)-1]
			break
		}
	}
	l.cond.Broadcast()
}
