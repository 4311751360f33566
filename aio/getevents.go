package aio

import (
	"math"
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
// Submit placed. It returns how many events it filled. Close wakes a
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
		if c.waitOnce(left) {
			return n, nil
		}
	}
}

// waitOnce waits for something to take, at most left (0: no limit), and
// reports whether it timed out. With work for the ring's driver (kernel
// requests in flight, requests to place) it drives the ring: places,
// then submits and waits in one io_uring_enter; otherwise what is
// awaited is on a worker, and it parks on the channel (a goroutine
// parked there gives its P to others at once, where a thread asleep in
// io_uring_enter keeps it until the runtime's monitor notices).
func (c *Context) waitOnce(left time.Duration) bool {
	if x := c.x; x != nil && x.Busy() {
		if x.Broken() {
			// Its kernel requests still complete into its CQ, but nothing
			// can wait there: look again soon.
			x.Drive(false, 0, nil)
			c.parked.Add(1)
			if !c.ready() {
				c.waitNotify(min(engine.PollBroken, orForever(left)))
			}
			c.parked.Add(-1)
			return false
		}
		c.inRing.Store(true)
		x.Drive(true, left, c.ready)
		c.inRing.Store(false)
		return false
	}
	c.parked.Add(1)
	defer c.parked.Add(-1)
	if c.ready() || (c.x != nil && c.x.Busy()) {
		return false // a delivery, or Submit queued for the ring, meanwhile
	}
	return c.waitNotify(left)
}

// orForever is d, or a very long time for 0 (no limit).
func orForever(d time.Duration) time.Duration {
	if d <= 0 {
		return time.Duration(math.MaxInt64)
	}
	return d
}

// waitNotify waits for a completion or Close on the notify channel, at
// most left (0: no limit). It reports whether it timed out.
func (c *Context) waitNotify(left time.Duration) bool {
	if left == 0 {
		select {
		case <-c.notify:
		case <-c.closing:
		}
		return false
	}
	if c.timer == nil {
		c.timer = time.NewTimer(left)
	} else {
		c.timer.Reset(left)
	}
	select {
	case <-c.notify:
		c.timer.Stop()
	case <-c.closing:
		c.timer.Stop()
	case <-c.timer.C:
		return true
	}
	return false
}

// take moves completed requests into events and frees their slots. The
// caller holds getMu (or owns the blocking call). It also reports whether
// the context is closed.
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
	c.drain()
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

// drain waits until every request submitted has been delivered, driving
// the ring meanwhile: the requests may be in its kernel queue, deferred,
// or on a worker.
func (c *Context) drain() {
	for !c.life.Drained() {
		x := c.x
		switch {
		case x == nil || !x.Busy():
			c.parked.Add(1)
			if x == nil || !x.Busy() {
				select {
				case <-c.life.Done():
				case <-c.notify: // a deferral: the ring has work now
				}
			}
			c.parked.Add(-1)
		case x.Broken():
			x.Drive(false, 0, nil)
			time.Sleep(engine.PollBroken)
		default:
			c.inRing.Store(true)
			x.Drive(true, 0, c.life.Drained)
			c.inRing.Store(false)
		}
	}
}
