package aio

import (
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// reaper completes what sits in the context rings while a goroutine of the
// runtime waits for progress that is not its own: a worker waiting for a
// range lock that a fast write holds, a blocking File method waiting for a
// worker or a barrier, a Close waiting for I/O in flight. A context ring
// is otherwise reaped only by its users' GetEvents (as io_uring is), and
// a user waiting in the runtime is not calling GetEvents. The runtime's
// overflow ring (callerexec.go) is reaped by it alone: its blocking
// callers park with help on.
//
// Every context ring registers the reaper's eventfd, with its signals off.
// A waiter calls help: while anyone is helped, the signals are on, and the
// reaper's goroutine (parked in Go's netpoller on the eventfd) reaps every
// context ring whenever one posts a completion. Nothing costs anything
// while no one waits, or while no kernel request is in flight on a context
// ring. It is process-wide, as the inodes whose locks it frees are.
//
// Owner: mu guards rings, helpers and the eventfd; inflight is an atomic.
type reaper struct {
	inflight atomic.Int64 // kernel requests in flight on every context ring
	mu       sync.Mutex
	rings    map[*ctxRing]struct{}
	helpers  int      // waiters being helped
	efd      int      // the eventfd every ring signals
	efdFile  *os.File // efd in the netpoller; nil while no goroutine runs
}

var reap reaper

// add registers c's ring with the eventfd, starting the reaper's
// goroutine with the first ring.
func (p *reaper) add(c *ctxRing) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.efdFile == nil {
		efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if err != nil {
			return err
		}
		p.efd, p.efdFile = efd, os.NewFile(uintptr(efd), "nowait-reap")
		p.rings = map[*ctxRing]struct{}{}
		go p.run(p.efdFile)
	}
	if err := c.ring.RegisterEventfd(p.efd); err != nil {
		p.stopIfIdleLocked()
		return err
	}
	c.ring.SetEventfdNotify(p.helpers > 0)
	p.rings[c] = struct{}{}
	return nil
}

// remove forgets c (before its ring is closed); the goroutine stops with
// the last ring.
func (p *reaper) remove(c *ctxRing) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.rings, c)
	p.stopIfIdleLocked()
}

func (p *reaper) stopIfIdleLocked() {
	if len(p.rings) == 0 && p.helpers == 0 && p.efdFile != nil {
		p.efdFile.Close() // the goroutine's Read fails: it returns
		p.efdFile = nil
	}
}

// help turns the reaping on for a waiter, when any kernel request is in
// flight on a context ring, and reports whether it did: the waiter calls
// unhelp when its wait is over. It never reaps on the caller's goroutine
// (the caller may hold a lock that completing a request takes).
func (p *reaper) help() bool {
	if p.inflight.Load() == 0 {
		return false
	}
	p.mu.Lock()
	if p.efdFile == nil {
		p.mu.Unlock()
		return false
	}
	p.helpers++
	if p.helpers == 1 {
		for c := range p.rings {
			c.ring.SetEventfdNotify(true)
		}
	}
	efd := p.efd
	p.mu.Unlock()
	unix.Write(efd, eventfdOne[:]) // a first pass, for what was posted before the signals were on
	return true
}

func (p *reaper) unhelp() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.helpers--; p.helpers == 0 {
		for c := range p.rings {
			c.ring.SetEventfdNotify(false)
		}
		p.stopIfIdleLocked()
	}
}

// run is the reaper's goroutine: parked on the eventfd, it reaps every
// context ring each time one signals.
func (p *reaper) run(f *os.File) {
	var buf [8]byte
	var rings []*ctxRing
	for {
		if _, err := f.Read(buf[:]); err != nil {
			return // closed: no ring is left
		}
		p.mu.Lock()
		for c := range p.rings {
			rings = append(rings, c)
		}
		p.mu.Unlock()
		for i, c := range rings {
			// A ring someone waits in is reaped by its waiter, woken by
			// the CQE; reaping it here would only take the CQE away (and
			// pass a wake-up back, see reapLocked).
			if c.waiting.Load() == 0 {
				c.pump()
			}
			rings[i] = nil
		}
		rings = rings[:0]
	}
}

// waitHelped waits for done, with the context rings reaped meanwhile.
func waitHelped(done <-chan struct{}) {
	select {
	case <-done:
		return
	default:
	}
	helping := reap.help()
	<-done
	if helping {
		reap.unhelp()
	}
}
