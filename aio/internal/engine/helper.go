package engine

import (
	"os"

	"golang.org/x/sys/unix"
	"sync"
	"sync/atomic"
	"time"
)

// helper is the process's one goroutine that enters the kernel for rings
// no driver is driving (package documentation, "The helper"). It is
// process-wide, as the inodes whose locks and barriers its reaping frees
// are; it runs while any ring is open.
//
// Owner: mu guards the ring list's changes and running; rings is read
// without it. The timer belongs to the helper's goroutine.
type helper struct {
	mu      sync.Mutex
	rings   atomic.Pointer[[]*Ring] // every open ring; replaced, never changed in place
	asleep  atomic.Bool             // waiting on wake: no ring has had anything for a while
	wake    chan struct{}           // capacity 1
	running bool                    // guarded by mu
	timer   napTimer
}

var help = helper{wake: make(chan struct{}, 1)}

// The helper naps helperNapMin after it found work, doubling its nap each
// time it finds none, up to helperNapMax; after helperQuietNaps naps in a
// row with no ring busy at all, it sleeps until a Submit wakes it.
const (
	helperNapMin    = 50 * time.Microsecond
	helperNapMax    = time.Millisecond
	helperQuietNaps = 8
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
	h.poke() // with no ring left, it stops
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
		h.poke()
	}
}

func (h *helper) poke() {
	select {
	case h.wake <- struct{}{}:
	default:
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
			if !h.sleep() {
				return
			}
			nap, quiet = helperNapMin, 0
		}
		h.timer.nap(nap)
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

// sleep waits for a Submit's note, or, with no ring left, stops the
// helper: it reports false then.
func (h *helper) sleep() bool {
	h.asleep.Store(true)
	if !h.anyBusy() { // a note before asleep was set saw it unset
		<-h.wake
	}
	h.asleep.Store(false)
	h.mu.Lock()
	defer h.mu.Unlock()
	if rs := h.rings.Load(); rs == nil || len(*rs) == 0 {
		h.running = false
		h.timer.close()
		return false
	}
	return true
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

// napTimer naps on a timerfd in Go's netpoller: the goroutine parks and
// gives its P back at once, and the kernel's timer wakes it within
// microseconds. The alternatives measured worse (docs/decisions.md): a
// nap in nanosleep keeps its thread's P, and with two Ps the runtime's
// monitor took it back at every nap and stayed awake to do so (1.3x the
// CPU per I/O of a Context at queue depth 1); a Go timer, on a process
// with an idle P, waits for the netpoller's next millisecond (a Submit
// then waited 0.57-0.60 ms at the median for the kernel to take its
// reads, against 0.20-0.35 ms). Without a timerfd it falls back to the Go
// timer. Owner: the helper's goroutine.
type napTimer struct {
	f   *os.File
	buf [8]byte
}

func (t *napTimer) nap(d time.Duration) {
	if t.f == nil {
		fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
		if err != nil {
			time.Sleep(d)
			return
		}
		t.f = os.NewFile(uintptr(fd), "nowait-helper-timer")
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	if unix.TimerfdSettime(int(t.f.Fd()), 0, &spec, nil) != nil {
		time.Sleep(d)
		return
	}
	t.f.Read(t.buf[:])
}

func (t *napTimer) close() {
	if t.f != nil {
		t.f.Close()
		t.f = nil
	}
}

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
