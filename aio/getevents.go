package aio

import (
	"runtime"
	"time"

	"github.com/nowaitio/nowait/aio/internal/engine"
	"github.com/nowaitio/nowait/aio/internal/req"
)

// ready reports whether a GetEvents need not wait: a completion is queued,
// or the context is closing. Under getMu (or by a blocking call's owner).
func (c *Context) ready() bool {
	if !c.done.Empty() {
		return true
	}
	select {
	case <-c.closing:
		return true
	default:
		return false
	}
}

// GetEvents waits until at least minEvents requests have completed (at
// most len(events)), or timeout passes, and fills events with completions.
// timeout < 0 waits without limit; 0 does not wait, and submits what
// Submit queued. It returns how many events it filled. Close wakes a
// waiting GetEvents: it returns the events it has taken, or
// ErrContextClosed when it has none, as does every later call.
func (c *Context) GetEvents(minEvents int, events []Event, timeout time.Duration) (int, error) {
	minEvents = min(max(minEvents, 0), len(events))
	c.getMu.Lock()
	defer c.getMu.Unlock()
	c.yield.tick()
	c.rt.workers.Flush()
	var deadline time.Time // read from the clock at the first wait: most calls never wait
	n := 0
	for pumped := false; ; {
		got, closed := c.take(events[n:])
		n += got
		if closed && n == 0 {
			return 0, ErrContextClosed
		}
		if closed {
			return n, nil
		}
		if n >= minEvents || timeout == 0 {
			if !pumped && n < len(events) && c.x != nil && c.x.Busy() {
				// Before returning: submit what is placed and take what
				// is done, without waiting.
				c.x.Drive(false, 0, nil)
				pumped = true
				continue
			}
			return n, nil
		}
		left := time.Duration(0) // no limit
		if timeout > 0 {
			if deadline.IsZero() {
				deadline = time.Now().Add(timeout)
			}
			if left = time.Until(deadline); left <= 0 {
				return n, nil
			}
		}
		if c.waitOnce(c.ready, left) {
			return n, nil
		}
	}
}

// waitOnce waits once for ready, at most left (0: no limit), and reports
// whether it timed out. With work for a driver on the ring it drives it
// (places, then submits and waits in one io_uring_enter), or on a shared
// ring leads or follows; otherwise what it waits for is on a worker, and
// it parks on the channel (which gives its P to others at once).
func (c *Context) waitOnce(ready func() bool, left time.Duration) bool {
	x := c.x
	switch {
	case x == nil || !x.Busy():
		return c.park(ready, left)
	case x.Broken():
		// Its kernel requests still complete into its CQ, but nothing
		// can wait there: look again soon.
		x.Drive(false, 0, nil)
		if left == 0 || left > engine.PollBroken {
			left = engine.PollBroken
		}
		c.park(ready, left)
	case c.own:
		c.drive(ready, left)
	case x.TryLead():
		if x.Followers() > 0 {
			// Callers handed their completions run again on this P: let
			// them queue their next requests before this thread takes
			// them all to the kernel and sleeps there, keeping its P.
			runtime.Gosched()
		}
		c.drive(ready, 0)
		x.Unlead()
	default:
		x.Follow(c, ready, func() { c.park(ready, 0) })
	}
	return false
}

// drive waits in the ring for what ready waits for.
func (c *Context) drive(ready func() bool, left time.Duration) {
	c.yield.tick()
	c.inRing.Store(true)
	c.x.Drive(true, left, ready)
	c.inRing.Store(false)
}

// park waits on the channel, at most left (0: no limit), unless ready or
// the ring has work for this goroutine to drive; it reports a timeout. It
// counts itself parked before it looks: a delivery sees it or is seen.
func (c *Context) park(ready func() bool, left time.Duration) bool {
	c.parked.Add(1)
	defer c.parked.Add(-1)
	if x := c.x; ready() || (x != nil && x.Busy() && (c.own || !x.Leading())) {
		return false
	}
	return c.waitNotify(left)
}

// waitNotify waits for a completion or Close on the notify channel, at
// most left (0: no limit). It reports whether it timed out.
func (c *Context) waitNotify(left time.Duration) bool {
	var expired <-chan time.Time
	if left > 0 {
		if c.timer == nil {
			c.timer = time.NewTimer(left)
		} else {
			c.timer.Reset(left)
		}
		defer c.timer.Stop()
		expired = c.timer.C
	}
	select {
	case <-c.notify:
	case <-c.closing:
	case <-expired:
		return true
	}
	return false
}

// take moves completed requests into events, frees their slots, and
// reports whether the context is closed. getMu is held (or the call's).
func (c *Context) take(events []Event) (int, bool) {
	n := 0
	for n < len(events) {
		node := c.done.Pop()
		if node == nil {
			break
		}
		r := node.Owner.(*req.Request)
		events[n] = Event{IOCB: c.iocbs[r.Slot], N: r.N, Err: r.Err}
		c.iocbs[r.Slot] = nil
		r.Reset()
		c.free.Put(r.Slot)
		n++
	}
	return n, c.life.IsClosed()
}

// Close refuses new requests, wakes any GetEvents waiting, waits for the
// context's requests in flight to complete, and drops the events not yet
// collected. A second Close returns ErrContextClosed.
func (c *Context) Close() error {
	if !c.life.Close() {
		return ErrContextClosed
	}
	close(c.closing)
	if c.x != nil {
		c.x.Kick() // a GetEvents waiting in the ring returns
	}
	for !c.life.Drained() { // its requests may be queued, in the kernel, on a worker
		c.waitOnce(c.life.Drained, 0)
	}
	c.getMu.Lock()
	defer c.getMu.Unlock()
	var drop [16]Event
	for {
		if n, _ := c.take(drop[:]); n == 0 {
			break
		}
	}
	if c.own {
		c.x.Close()
		c.rt.untrack(c)
	}
	return nil
}
