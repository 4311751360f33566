package engine

import (
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// helper is the process's one goroutine for rings no driver drives (the
// package documentation); it runs while any ring is open. Owner: mu
// guards the list's changes and cur; rings is read without it.
type helper struct {
	mu     sync.Mutex
	rings  atomic.Pointer[[]*Ring] // every open ring; replaced, never changed in place
	asleep atomic.Bool             // waiting on wake: no ring has had anything for a while
	wake   chan struct{}           // capacity 1
	cur    *helperRun              // the running helper, or nil
}

// helperRun is one run of the helper, from the first ring opened to the
// last closed; remove closes its timer to cut a nap short.
type helperRun struct {
	stop, done chan struct{}
	timer      napTimer
}

var help = helper{wake: make(chan struct{}, 1)}

// The helper naps helperNapMin after finding work, doubling up to
// helperNapMax while it finds none; after helperQuietNaps naps with no
// ring busy, it sleeps until a Submit wakes it.
const (
	helperNapMin    = 50 * time.Microsecond
	helperNapMax    = time.Millisecond
	helperQuietNaps = 8
)

func (h *helper) add(x *Ring) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.publishLocked(x, nil)
	if h.cur == nil {
		h.cur = &helperRun{stop: make(chan struct{}), done: make(chan struct{})}
		h.cur.timer.open()
		go h.run(h.cur)
	}
}

// remove forgets x; with the last ring gone it stops the helper and
// waits for it (a closed Runtime leaves nothing running).
func (h *helper) remove(x *Ring) {
	h.mu.Lock()
	h.publishLocked(nil, x)
	var hr *helperRun
	if rs := h.rings.Load(); len(*rs) == 0 && h.cur != nil {
		hr, h.cur = h.cur, nil
		close(hr.stop)
		hr.timer.close()
	}
	h.mu.Unlock()
	if hr != nil {
		<-hr.done
	}
}

func (h *helper) publishLocked(add, drop *Ring) {
	var next []*Ring
	if cur := h.rings.Load(); cur != nil {
		next = slices.DeleteFunc(slices.Clone(*cur), func(x *Ring) bool { return x == drop })
	}
	if add != nil {
		next = append(next, add)
	}
	h.rings.Store(&next)
}

// note wakes the helper if it sleeps: a channel send at most.
func (h *helper) note() {
	if h.asleep.Load() && h.asleep.CompareAndSwap(true, false) {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
}

// run is the helper's loop. It does not sleep as soon as the rings are
// idle: a Context driven one I/O at a time is idle between its GetEvents
// and its next Submit, and a wake-up at each Submit would cost two
// thread wake-ups per I/O.
func (h *helper) run(hr *helperRun) {
	defer close(hr.done)
	nap, quiet := helperNapMin, 0
	for {
		if quiet >= helperQuietNaps {
			if !h.sleep(hr) {
				return
			}
			nap, quiet = helperNapMin, 0
		}
		hr.timer.nap(nap)
		select {
		case <-hr.stop:
			return
		default:
		}
		did := false
		if rs := h.rings.Load(); rs != nil {
			for _, x := range *rs {
				if x.helpOnce() {
					did = true
				}
				x.env.FlushWorkers()
			}
		}
		switch {
		case did:
			nap, quiet = helperNapMin, 0
		case h.anyBusy():
			nap, quiet = min(2*nap, helperNapMax), 0
		default:
			nap = min(2*nap, helperNapMax)
			quiet++
		}
	}
}

// sleep waits for a Submit's note; false when the helper is stopped.
func (h *helper) sleep(hr *helperRun) bool {
	h.asleep.Store(true)
	defer h.asleep.Store(false)
	if h.anyBusy() { // a note before asleep was set saw it unset
		return true
	}
	select {
	case <-h.wake:
		return true
	case <-hr.stop:
		return false
	}
}

func (h *helper) anyBusy() bool {
	if rs := h.rings.Load(); rs != nil {
		for _, x := range *rs {
			if x.Busy() {
				return true
			}
		}
	}
	return false
}

// napTimer naps on a timerfd in the netpoller: the goroutine gives its P
// back at once and the kernel wakes it within microseconds. A nanosleep
// keeps the P, and a Go timer rounds up to the netpoller's millisecond
// (docs/decisions.md). Without a timerfd it naps on a Go timer.
type napTimer struct {
	mu     sync.Mutex // settime against close: the helper and remove
	f      *os.File   // nil: no timerfd
	fd     int
	closed bool
	buf    [8]byte
}

func (t *napTimer) open() {
	if fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC); err == nil {
		t.f, t.fd = os.NewFile(uintptr(fd), "nowait-helper-timer"), fd
	}
}

func (t *napTimer) nap(d time.Duration) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	armed := t.f != nil &&
		unix.TimerfdSettime(t.fd, 0, &unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}, nil) == nil
	t.mu.Unlock()
	if !armed {
		time.Sleep(d)
		return
	}
	t.f.Read(t.buf[:]) // returns at once once close has run
}

// close ends a nap in progress (its Read fails) and every later one.
func (t *napTimer) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.f != nil && !t.closed {
		t.closed = true
		t.f.Close()
	}
}

// helpOnce does for x what no driver did (place, submit, reap), without
// waiting for x's locks; it touches the kernel ring only under them
// (Close holds both). It reports whether it did anything.
func (x *Ring) helpOnce() bool {
	if !x.Busy() || x.waiting.Load() > 0 {
		return false
	}
	did := false
	if x.sqMu.TryLock() {
		var err error
		entered := false
		if !x.closed.Load() && !x.broken.Load() {
			x.placeDeferred()
			x.k.Publish()
			if x.k.Unconsumed() > 0 {
				x.env.Stats.HelperEnters.Add(1)
				err, entered = x.k.Enter(0, 0), true
			}
		}
		x.sqMu.Unlock()
		if entered {
			x.enterDone(err)
			did = true
		}
	}
	if x.waiting.Load() == 0 && x.cqMu.TryLock() {
		if !x.closed.Load() && x.k.CompletionsPending() && x.reapLocked() > 0 {
			x.env.Stats.HelperReaps.Add(1)
			did = true
		}
		x.cqMu.Unlock()
	}
	return did
}

// Note wakes the helper if it sleeps (Submit queued work); it never waits.
func Note() { help.note() }
