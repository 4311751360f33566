package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/ring"
)

// The machine's own stalls. A virtual machine can stop all its threads at
// once (on this project's VM, for 6-70 ms now and then: the host, not Go,
// not the engine), and such a stop lands in every engine's tail alike. A
// stall meter runs beside every measured run: a process of its own (this
// program started again with stallMeterEnv set, which init catches before
// anything else runs) whose one locked thread sleeps stallNap at a time
// in a raw nanosleep and counts the naps that overran by more than
// stallOver. A row whose tail is of the size of its stall max, with
// stalls counted, has the machine's stall in it.
//
// Its own process, because in the engine's it measured the engine: a Go
// thread back from its nap must get a P before it can read the clock, and
// with psync's 32 goroutines in pread that wait was up to 144 ms, counted
// as the machine's (the same psync run: 63 stalls of up to 95 ms in the
// process, 1 of 2.8 ms outside it); and its 2,000 wake-ups a second cost
// the Go engines a third of their CPU per I/O, where fio, a process of its
// own, paid nothing. The raw nanosleep keeps the meter's own runtime from
// handing its P around each nap (ring.SleepUnscheduled). Where the process
// cannot be started, the meter runs in this one, and Stalls.InProcess
// says so.
//
// The thread runs SCHED_FIFO where it may (root, or CAP_SYS_NICE): at a
// normal priority it also counts the waits for a CPU that the engine's
// threads cause, which are the engine's cost, not the machine's. Without
// the privilege Stalls.RealTime says so.

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
	// InProcess: the meter ran in the engine's process (its own could not
	// be started), and its wake-ups are in the engine's CPU per I/O.
	InProcess bool `json:"in_process,omitempty"`
	// Unknown: the meter's process ended without its counts.
	Unknown bool `json:"unknown,omitempty"`
}

// stallMeterEnv, set to 1, makes this program a stall meter (init).
const stallMeterEnv = "NOWAIT_STALL_METER"

func init() {
	if os.Getenv(stallMeterEnv) == "1" {
		os.Exit(stallMeterChild(os.Stdin, os.Stdout))
	}
}

// stallCounts is what a meter loop counts. Owner: the loop's goroutine
// writes (atomics); the stopper reads after the loop ended.
type stallCounts struct {
	count, max atomic.Int64
	realTime   atomic.Bool
}

// meterLoop naps on its own locked thread until quit closes, counting the
// naps that overran; ready closes once the thread has its priority. In
// the meter's own process it naps unseen by the scheduler (unscheduled):
// the runtime's hand-offs around each nap doubled its CPU.
func meterLoop(c *stallCounts, quit <-chan struct{}, ready chan<- struct{}, unscheduled bool) {
	runtime.LockOSThread() // the thread is the meter; it ends with the goroutine
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: 1}
	c.realTime.Store(unix.SchedSetAttr(0, &attr, 0) == nil)
	close(ready)
	nap := unix.NsecToTimespec(int64(stallNap))
	for {
		select {
		case <-quit:
			return
		default:
		}
		t0 := time.Now()
		if unscheduled {
			ring.SleepUnscheduled(stallNap)
		} else {
			for rem := nap; unix.Nanosleep(&rem, &rem) == unix.EINTR; {
			}
		}
		if over := time.Since(t0) - stallNap; over > stallOver {
			c.count.Add(1)
			if int64(over) > c.max.Load() {
				c.max.Store(int64(over))
			}
		}
	}
}

func (c *stallCounts) stalls() Stalls {
	return Stalls{Count: c.count.Load(), Max: time.Duration(c.max.Load()), RealTime: c.realTime.Load()}
}

// stallMeterChild is the meter's process: it says "ready" once it
// measures, and at the end of its input writes what it saw and exits.
func stallMeterChild(in io.Reader, out io.Writer) int {
	var c stallCounts
	quit, ready, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() { meterLoop(&c, quit, ready, true); close(done) }()
	<-ready
	fmt.Fprintln(out, "ready")
	io.Copy(io.Discard, in)
	close(quit)
	<-done
	s := c.stalls()
	fmt.Fprintln(out, s.Count, int64(s.Max), s.RealTime)
	return 0
}

// stallMeter is one meter: a process of its own (cmd), or a goroutine of
// this one. Owner: the run that started it; stop is called once.
type stallMeter struct {
	cmd    *exec.Cmd
	stdin  io.Closer
	stdout *bufio.Reader
	counts stallCounts // the in-process meter's
	quit   chan struct{}
	done   chan struct{}
}

// startStallMeter starts a meter and returns once it measures.
func startStallMeter() *stallMeter {
	if m, err := startMeterProcess(); err == nil {
		return m
	}
	m := &stallMeter{quit: make(chan struct{}), done: make(chan struct{})}
	ready := make(chan struct{})
	go func() { meterLoop(&m.counts, m.quit, ready, false); close(m.done) }()
	<-ready
	return m
}

func startMeterProcess() (*stallMeter, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), stallMeterEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	m := &stallMeter{cmd: cmd, stdin: stdin, stdout: bufio.NewReader(stdout)}
	if line, err := m.stdout.ReadString('\n'); err != nil || line != "ready\n" {
		stdin.Close()
		cmd.Wait()
		return nil, fmt.Errorf("the stall meter's process did not start: %q, %v", line, err)
	}
	return m, nil
}

// pid is the meter's process.
func (m *stallMeter) pid() int {
	if m.cmd != nil {
		return m.cmd.Process.Pid
	}
	return os.Getpid()
}

// stop ends the meter and returns what it saw.
func (m *stallMeter) stop() Stalls {
	if m.cmd == nil {
		close(m.quit)
		<-m.done
		s := m.counts.stalls()
		s.InProcess = true
		return s
	}
	m.stdin.Close()
	var s Stalls
	var maxNs int64
	_, err := fmt.Fscan(m.stdout, &s.Count, &maxNs, &s.RealTime)
	m.cmd.Wait()
	if err != nil {
		return Stalls{Unknown: true}
	}
	s.Max = time.Duration(maxNs)
	return s
}
