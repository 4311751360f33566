package aio

import (
	"runtime"
	"time"
)

// yieldCheck is how many calls (GetEvents, or waits of a blocking method)
// pass between two looks at the clock, and yieldAfter how long a driver
// of a ring goes between scheduler yields: both well inside the monitor's
// 10 ms, at depth 1 too (16 reads of 65 µs is about 1 ms).
const (
	yieldCheck = 16
	yieldAfter = 4 * time.Millisecond
)

// yieldPacer makes a goroutine that drives a ring pass through the Go
// scheduler once every yieldAfter.
//
// Such a goroutine never passes through it otherwise: each system call
// returns to the goroutine's own P. After 10 ms of that the runtime's
// monitor (sysmon) counts the goroutine as running too long; it cannot
// preempt a system call, so it takes the P away from the call instead,
// and from every call it finds in progress after that, until the
// goroutine is scheduled again, napping 20 µs at a time to look. Measured
// (TestRingDriverKeepsItsP, the runtime's execution trace): 5-18% of a
// ReadAt loop's system calls lost their P, 2.5% at depth 32; with the
// yields none. That was 3k thread switches a second more than fio's, and
// 1.3x fio's CPU per I/O where it is 1.1x now (decisions.md). A yield
// costs a thread woken to look for work, 250 times a second.
//
// Owner: the goroutine driving the ring (under Context.getMu, or holding
// a syncCtx).
type yieldPacer struct {
	waits uint32
	last  time.Time
}

// tick is called at each GetEvents, or before each wait in the kernel: it
// yields when yieldAfter has passed since the last yield.
func (y *yieldPacer) tick() {
	y.waits++
	if y.waits%yieldCheck != 0 {
		return
	}
	if now := time.Now(); now.Sub(y.last) >= yieldAfter {
		y.last = now
		runtime.Gosched()
	}
}
