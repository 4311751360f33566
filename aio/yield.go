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
// scheduler once every yieldAfter: it never does otherwise (each system
// call returns to its own P), and after 10 ms the runtime's monitor takes
// its P from every system call it finds in progress (without the yields
// 1.4-2.4% of a driver's system calls did, TestRingDriverKeepsItsP).
// Owner: the goroutine driving the ring (under Context.getMu, or a
// blocking call's).
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
