package bench

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStallMeterSeesTheProcessStop: the whole process is stopped from
// outside for 50 ms (SIGSTOP, then SIGCONT from a child shell), as the
// host stops this VM's threads all at once; the meter counts it, with an
// overrun of about that length.
func TestStallMeterSeesTheProcessStop(t *testing.T) {
	m := startStallMeter()
	time.Sleep(20 * time.Millisecond)
	pid := strconv.Itoa(m.pid())
	cmd := exec.Command("sh", "-c", "kill -STOP "+pid+"; sleep 0.05; kill -CONT "+pid)
	if err := cmd.Run(); err != nil {
		m.stop()
		t.Fatalf("stopping the process from outside: %v", err)
	}
	time.Sleep(20 * time.Millisecond)
	s := m.stop()
	if s.Count < 1 || s.Max < 30*time.Millisecond {
		t.Fatalf("a 50 ms stop of the whole process: the meter saw %d stalls, max %v; want at least 1 of 30 ms or more", s.Count, s.Max)
	}
	if s.InProcess || s.Unknown {
		t.Errorf("the meter ran in the engine's process (%v) or lost its counts (%v): its wake-ups would be in the engine's CPU", s.InProcess, s.Unknown)
	}
	if os.Geteuid() == 0 && !s.RealTime {
		t.Error("as root, the meter did not run SCHED_FIFO: it would count the engine's busy run queue as the machine's stalls")
	}
	t.Logf("a 50 ms stop: %d stalls, max %v (SCHED_FIFO: %v)", s.Count, s.Max, s.RealTime)
}

// TestStallNotes: a table says when its stall columns are not the
// machine's stops: counts lost, a meter in the engines' process, a meter
// at a normal priority; and says nothing when they are.
func TestStallNotes(t *testing.T) {
	good := Result{Stalls: Stalls{RealTime: true}}
	if n := stallNotes([]Result{good, good}); len(n) != 0 {
		t.Errorf("a real-time meter of its own: notes %q", n)
	}
	for _, c := range []struct {
		st   Stalls
		want string
	}{
		{Stalls{Unknown: true}, "unknown, not zero"},
		{Stalls{RealTime: true, InProcess: true}, "engines' process"},
		{Stalls{}, "normal priority"},
	} {
		n := stallNotes([]Result{good, {Stalls: c.st}})
		if len(n) != 1 || !strings.Contains(n[0], c.want) {
			t.Errorf("%+v: notes %q, want one saying %q", c.st, n, c.want)
		}
	}
}
