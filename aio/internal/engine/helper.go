package engine

import (
	"sync"
	"sync/atomic"
	"time"
)

// helper is the process's one goroutine that enters the kernel for rings
// no driver is driving (package documentation, "The helper"). It is
// process-wide, as the inodes whose locks and barriers its reaping frees
// are.
//
// Owner: mu guards the ring list's changes; rings is read without it.
type helper struct {
	mu      sync.Mutex
	rings   atomic.Pointer[[]*Ring] // every open ring; replaced, never changed in place
	asleep  atomic.Bool             // waiting on wake: no ring had anything in flight
	wake    chan struct{}           // capacity 1
	running bool                    // guarded by mu
}

var help = helper{wake: make(chan struct{}, 1)}

// How often the helper looks while it finds work, and at most while it
// finds none (it doubles its nap each time it finds none).
const (
	helperNapMin = 50 * time.Microsecond
	helperNapMax = time.Millisecond
)

func (h *helper) add(x *Ring) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.publishLocked(x, nil)
	if !h.running {
		h.running = true
		go h.run()
	}
}

func (h *helper) remove(x *Ring) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.publishLocked(nil, x)
}

func (h *helper) publishLocked(add, drop *Ring) {
	var next []*Ring
	if cur := h.rings.Load(); cur != nil {
		for _, x := range *cur {
			if x != drop {
				next = append(next, x)
			}
		}
	}
	if add != nil {
		next = append(next, add)
	}
	h.rings.Store(&next)
}

// note tells the helper that a ring has work it may have to do; it wakes
// the helper if it sleeps. It never waits: a channel send at most.
func (h *helper) note() {
	if h.asleep.Load() && h.asleep.CompareAndSwap(true, false) {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	}
}

// run is the helper's loop: nap, do what no one did, nap longer while
// there is nothing, sleep once no ring has been busy for a few naps. It
// does not sleep as soon as the rings are idle: a Context driven one I/O
// at a time is idle between its GetEvents and its next Submit, and
// waking the helper at each Submit would cost two thread wake-ups per
// I/O.
func (h *helper) run() {
	nap, quiet := helperNapMin, 0
	for {
		if quiet >= helperQuietNaps {
			h.asleep.Store(true)
			if !h.anyBusy() { // a note before asleep was set saw it unset
				<-h.wake
			}
			h.asleep.Store(false)
			nap, quiet = helperNapMin, 0
		}
		sleep(nap)
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

// helperQuietNaps is how many naps in a row must find every ring idle
// before the helper sleeps until a Submit wakes it.
const helperQuietNaps = 8

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

// sleep naps d on a Go timer, which gives the helper's P back at once.
// A nap in nanosleep was precise to microseconds where the runtime's
// timer, on an idle process, waits for its netpoller's next millisecond;
// but a thread in a system call keeps its P, and with two Ps the
// runtime's monitor took it back at every nap and stayed awake to do so:
// 1.3x the CPU per I/O of a Context at queue depth 1 (docs/decisions.md).
func sleep(d time.Duration) { time.Sleep(d) }

// helpOnce does for x what no driver did: places its deferred requests,
// submits its published SQEs, and reaps its completions when no one waits
// in it. It never waits for x's locks, and looks at the kernel ring only
// under them (Close holds both). It reports whether it did anything.
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

// Note tells the helper that a ring may have work no driver will do soon
// (Submit placed SQEs): it wakes the helper if it sleeps, and never waits.
func Note() { help.note() }
