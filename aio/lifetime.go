package aio

import "sync/atomic"

// lifetime is the one primitive behind the Close of a File, a Context and
// a Runtime (after Go's internal/poll fdMutex): a count of users and a
// closed bit in one word. acquire refuses once closing has begun; the
// release that leaves no user after that, or the close that finds none,
// wakes the closer. No sleep loop, no polling timer.
//
// Owner: shared; every method is safe for concurrent use. init must run
// before any other method.
type lifetime struct {
	state atomic.Int64  // lifeClosed | number of users
	done  chan struct{} // closed when closing has begun and no user is left
}

const lifeClosed = int64(1) << 62

func (l *lifetime) init() { l.done = make(chan struct{}) }

// acquire counts n users, unless closing has begun.
func (l *lifetime) acquire(n int64) bool {
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

// release drops one user; the last one after close wakes the closer.
func (l *lifetime) release() {
	if l.state.Add(-1) == lifeClosed {
		close(l.done)
	}
}

// close begins closing: later acquires fail. It reports false when
// closing had begun already.
func (l *lifetime) close() bool {
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

// wait returns once closing has begun and every user has released.
func (l *lifetime) wait() { <-l.done }

// drained reports, without waiting, whether wait would return at once.
func (l *lifetime) drained() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// isClosed reports whether closing has begun.
func (l *lifetime) isClosed() bool { return l.state.Load()&lifeClosed != 0 }
