package bench

import (
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// The machine's own stalls. A virtual machine can stop all its threads at
// once (on this project's VM, for 6-70 ms now and then: the host, not Go,
// not the engine), and such a stop lands in every engine's tail alike. A
// stall meter runs beside every measured run: an OS thread of its own
// (locked, sleeping in nanosleep, so that neither the Go scheduler nor the
// engine's goroutines stand between it and the kernel) sleeps stallNap at
// a time and counts the naps that overran by more than stallOver. A row
// whose tail is of the size of its stall max, with stalls counted, has
// the machine's stall in it.
//
// The thread runs SCHED_FIFO where it may (root, or CAP_SYS_NICE): at a
// normal priority it also counts the waits for a CPU that the engine's own
// threads cause (psync's 32 threads on 2 vCPUs kept it from running for up
// to 144 ms), which are the engine's cost, not the machine's. Without the
// privilege it runs at a normal priority, and Stalls.RealTime says so.

const (
	stallNap  = 500 * time.Microsecond
	stallOver = 2 * time.Millisecond
)

// Stalls is what a stall meter saw over a run.
type Stalls struct {
	Count int64         `json:"count"`  // naps that overran by more than 2 ms
	Max   time.Duration `json:"max_ns"` // the longest overrun
	// RealTime: the meter ran SCHED_FIFO, ahead of every ordinary thread,
	// so what it counts is the machine stopping, not a busy run queue.
	RealTime bool `json:"realtime"`
}

// stallMeter is one meter. Owner: its own goroutine writes count and max
// (atomics); stop is called once by the run's goroutine.
type stallMeter struct {
	count, max atomic.Int64
	realTime   atomic.Bool
	quit, done chan struct{}
}

func startStallMeter() *stallMeter {
	m := &stallMeter{quit: make(chan struct{}), done: make(chan struct{})}
	go m.run()
	return m
}

func (m *stallMeter) run() {
	runtime.LockOSThread() // the thread is the meter; it ends with the goroutine
	defer close(m.done)
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: 1}
	m.realTime.Store(unix.SchedSetAttr(0, &attr, 0) == nil)
	nap := unix.NsecToTimespec(int64(stallNap))
	for {
		select {
		case <-m.quit:
			return
		default:
		}
		t0 := time.Now()
		for rem := nap; unix.Nanosleep(&rem, &rem) == unix.EINTR; {
		}
		if over := time.Since(t0) - stallNap; over > stallOver {
			m.count.Add(1)
			if int64(over) > m.max.Load() {
				m.max.Store(int64(over))
			}
		}
	}
}

// stop ends the meter and returns what it saw.
func (m *stallMeter) stop() Stalls {
	close(m.quit)
	<-m.done
	return Stalls{Count: m.count.Load(), Max: time.Duration(m.max.Load()), RealTime: m.realTime.Load()}
}
