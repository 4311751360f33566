package aio

import (
	"math"
	"sync"
	"time"
)

// Context is the io_setup/io_submit/io_getevents of this runtime: a set of
// depth request slots, a Submit that never blocks, and GetEvents to collect
// completions. Several goroutines may use one Context.
//
// Owner: shared; mu guards the slots' free list and the completion queue.
type Context struct {
	rt    *Runtime
	shard *shard // where this context's requests go (nil: syscall backend)
	depth int

	mu       sync.Mutex
	slots    []request
	free     []int32 // free slot numbers (a stack)
	done     []int32 // completed slot numbers (a ring of depth entries)
	doneHead int
	doneN    int
	inflight int
	closed   bool
	notify   chan struct{} // a completion arrived (capacity 1: a wake-up, not a count)

	getMu sync.Mutex // one GetEvents waits at a time
	timer *time.Timer
}

// NewContext makes a context with room for depth requests in flight.
func (rt *Runtime) NewContext(depth int) (*Context, error) {
	if depth < 1 || depth > 65536 {
		return nil, ErrBadDepth
	}
	if rt.closed.Load() {
		return nil, ErrClosed
	}
	c := &Context{rt: rt, depth: depth, slots: make([]request, depth), free: make([]int32, depth),
		done: make([]int32, depth), notify: make(chan struct{}, 1)}
	for i := range c.slots {
		c.slots[i].ctx = c
		c.slots[i].slot = int32(i)
		c.free[i] = int32(depth - 1 - i)
	}
	c.shard = rt.pickShard()
	return c, nil
}

// Submit queues iocbs for I/O and returns how many it accepted, without
// waiting for anything: no lock another I/O holds, no system call that can
// block, no device. When the context is full it accepts what fits and
// returns ErrWouldBlock (errors.Is syscall.EAGAIN). Bad input is refused
// before anything is accepted: the error names the first bad IOCB's fault.
func (c *Context) Submit(iocbs ...*IOCB) (int, error) {
	for _, cb := range iocbs {
		if err := c.validate(cb); err != nil {
			return 0, err
		}
	}
	// Slot numbers are copied out under the lock: once it is released, a
	// completion may push onto the free stack over them.
	var stackIDs [64]int32
	ids := stackIDs[:0]
	if len(iocbs) > len(stackIDs) {
		ids = make([]int32, 0, len(iocbs))
	}
	c.mu.Lock()
	if c.closed || c.rt.closed.Load() {
		c.mu.Unlock()
		return 0, ErrClosed
	}
	n := min(len(iocbs), len(c.free))
	first := len(c.free) - n
	ids = append(ids, c.free[first:]...)
	c.free = c.free[:first]
	c.inflight += n
	c.mu.Unlock()

	for i, slot := range ids {
		c.rt.start(&c.slots[slot], iocbs[i])
	}
	if n < len(iocbs) {
		return n, ErrWouldBlock
	}
	return n, nil
}

func (c *Context) validate(cb *IOCB) error {
	switch {
	case cb == nil:
		return ErrNilIOCB
	case cb.File == nil:
		return ErrNilFile
	case cb.File.rt != c.rt:
		return ErrOtherRuntime
	case !cb.Op.valid():
		return ErrUnknownOp
	case cb.File.closed.Load():
		return ErrClosed
	case cb.Offset < 0:
		return ErrNegativeOffset
	case len(cb.Buf) > MaxIOBytes:
		return ErrBufferTooLarge
	case cb.Offset > math.MaxInt64-int64(len(cb.Buf)):
		return ErrNegativeOffset
	}
	return nil
}

// complete queues a finished request for GetEvents.
func (c *Context) complete(r *request) {
	c.mu.Lock()
	c.done[(c.doneHead+c.doneN)%c.depth] = r.slot
	c.doneN++
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// GetEvents waits until at least minEvents requests have completed (at
// most len(events)), or timeout passes, and fills events with completions.
// timeout < 0 waits without limit; 0 does not wait. It returns how many
// events it filled. After Close, it returns ErrClosed.
func (c *Context) GetEvents(minEvents int, events []Event, timeout time.Duration) (int, error) {
	minEvents = min(max(minEvents, 0), len(events))
	c.getMu.Lock()
	defer c.getMu.Unlock()
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	n := 0
	for {
		got, closed := c.take(events[n:])
		n += got
		if closed && n == 0 {
			return 0, ErrClosed
		}
		if n >= minEvents || timeout == 0 {
			return n, nil
		}
		if timeout < 0 {
			<-c.notify
			continue
		}
		left := time.Until(deadline)
		if left <= 0 {
			return n, nil
		}
		if c.timer == nil {
			c.timer = time.NewTimer(left)
		} else {
			c.timer.Reset(left)
		}
		select {
		case <-c.notify:
			c.timer.Stop()
		case <-c.timer.C:
		}
	}
}

// take moves completed requests into events and frees their slots.
func (c *Context) take(events []Event) (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := min(c.doneN, len(events))
	for i := range n {
		r := &c.slots[c.done[c.doneHead]]
		c.doneHead = (c.doneHead + 1) % c.depth
		events[i] = Event{IOCB: r.iocb, N: r.n, Err: r.err}
		r.reset()
		c.free = append(c.free, r.slot)
	}
	c.doneN -= n
	c.inflight -= n
	return n, c.closed
}

// dropDoneLocked frees the slots of completions nobody will collect.
func (c *Context) dropDoneLocked() {
	for ; c.doneN > 0; c.doneN-- {
		r := &c.slots[c.done[c.doneHead]]
		c.doneHead = (c.doneHead + 1) % c.depth
		r.reset()
		c.free = append(c.free, r.slot)
		c.inflight--
	}
}

// Close waits for the context's requests in flight to complete, then
// closes it; events not yet collected are dropped. A second Close returns
// ErrClosed.
func (c *Context) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.closed = true
	c.mu.Unlock()
	for {
		c.mu.Lock()
		pending := c.inflight - c.doneN
		if pending == 0 {
			c.dropDoneLocked()
			c.mu.Unlock()
			return nil
		}
		c.mu.Unlock()
		select {
		case <-c.notify:
		case <-time.After(10 * time.Millisecond):
		}
	}
}
