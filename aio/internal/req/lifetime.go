package req

import "sync/atomic"

// Lifetime is the one primitive behind the Close of a File, a Context and
// a Runtime (after Go's internal/poll fdMutex): a count of users and a
// closed bit in one word. Acquire refuses once closing has begun; the
// last release after it wakes the closer. Owner: shared; Init first.
type Lifetime struct {
	state atomic.Int64  // lifeClosed | number of users
	done  chan struct{} // closed when closing has begun and no user is left
}

const lifeClosed = int64(1) << 62

// Init makes the lifetime open with no user.
func (l *Lifetime) Init() { l.done = make(chan struct{}) }

// Acquire counts n users, unless closing has begun.
func (l *Lifetime) Acquire(n int64) bool {
	for {
		v := l.state.Load()
		if v&lifeClosed != 0 {
			return false
		}
		if l.state.CompareAndSwap(v, v+n) {
			return true
		}
	}
}

// Release drops one user; the last one after Close wakes the closer.
func (l *Lifetime) Release() { l.ReleaseN(1) }

// ReleaseN drops n users.
func (l *Lifetime) ReleaseN(n int64) {
	if n > 0 && l.state.Add(-n) == lifeClosed {
		close(l.done)
	}
}

// Close begins closing: later acquires fail. It reports false when
// closing had begun already.
func (l *Lifetime) Close() bool {
	for {
		v := l.state.Load()
		if v&lifeClosed != 0 {
			return false
		}
		if l.state.CompareAndSwap(v, v|lifeClosed) {
			if v == 0 {
				close(l.done)
			}
			return true
		}
	}
}

// Wait returns once closing has begun and every user has released.
func (l *Lifetime) Wait() { <-l.done }

// Drained reports, without waiting, whether Wait would return at once.
func (l *Lifetime) Drained() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// IsClosed reports whether closing has begun.
func (l *Lifetime) IsClosed() bool { return l.state.Load()&lifeClosed != 0 }
