package aio

// The order of a file's requests: barriers (a barrier sync holds back the
// writes submitted after it until the writes before it are done), the
// sticky sync error, and the reservations of O_APPEND writes.

// admitWrite counts a new write, or holds it back while a barrier fsync
// waits for the writes before it: without that, a steady stream of new
// writes would keep the barrier waiting for ever. It reports whether the
// write may go now.
func (ino *inode) admitWrite(r *request) bool {
	if ino.draining.Load() {
		ino.barrierMu.Lock()
		if ino.draining.Load() {
			ino.held = append(ino.held, r)
			ino.barrierMu.Unlock()
			return false
		}
		ino.barrierMu.Unlock()
	}
	ino.writes.Add(1)
	return true
}

// writeDone releases the parked barrier fsyncs once no earlier write is in
// flight, then the writes held behind them. Each goes back to its own
// handle's runtime.
func (ino *inode) writeDone() {
	if ino.writes.Add(-1) != 0 {
		return
	}
	ino.barrierMu.Lock()
	if ino.writes.Load() != 0 || len(ino.parked) == 0 {
		ino.barrierMu.Unlock()
		return
	}
	barriers, held := ino.parked, ino.held
	ino.parked, ino.held = nil, nil
	ino.draining.Store(false)
	ino.writes.Add(int64(len(held)))
	ino.barrierMu.Unlock()
	for _, r := range barriers {
		r.file.rt.resubmit(r)
	}
	for _, r := range held {
		r.file.rt.resubmit(r)
	}
}

// parkBehindWrites parks a barrier fsync while earlier writes are in
// flight; it reports false when there are none and the fsync may go now.
func (ino *inode) parkBehindWrites(r *request) bool {
	ino.barrierMu.Lock()
	defer ino.barrierMu.Unlock()
	if ino.writes.Load() == 0 {
		return false
	}
	ino.parked = append(ino.parked, r)
	ino.draining.Store(true)
	return true
}

// stickySyncErr is the error of the first failed sync, if any: after a
// failed fsync the kernel may have dropped the dirty data, so a later
// fsync that "succeeds" proves nothing (PostgreSQL's fsyncgate). It is the
// inode's, not the handle's: the data lost was every handle's.
func (ino *inode) stickySyncErr() error {
	if f := ino.syncErr.Load(); f != nil {
		return f.err
	}
	return nil
}

// setSyncErr keeps err unless a failure is kept already.
func (ino *inode) setSyncErr(err error) {
	ino.syncErr.CompareAndSwap(nil, &syncFailure{err})
}

// syncFailure boxes the sticky error for the atomic pointer; immutable
// once stored.
type syncFailure struct{ err error }

// reserveAppend takes the next n bytes at the logical end for one append:
// appends through any handle get disjoint ranges, in the order they
// reserve.
func (ino *inode) reserveAppend(n int64) int64 {
	ino.mu.Lock()
	defer ino.mu.Unlock()
	logical, _ := ino.sizes()
	off := max(logical, ino.appendEnd)
	ino.appendEnd = off + n
	return off
}

// unreserveAppend gives back a failed append's range when no later append
// reserved past it, so that a failure leaves no gap of zeros.
func (ino *inode) unreserveAppend(off, n int64) {
	ino.mu.Lock()
	defer ino.mu.Unlock()
	if ino.appendEnd == off+n {
		ino.appendEnd = off
	}
}
