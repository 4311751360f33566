package aio

import (
	"bytes"
	"context"
	"runtime"
	"runtime/trace"
	"testing"
	"time"

	xtrace "golang.org/x/exp/trace"
)

// TestRingDriverKeepsItsP: a goroutine that only drives a ring, one read
// at a time, through File.ReadAt and through a Context, keeps its P in
// its system calls. The build before lost it in 2.5-18% of them: after
// 10 ms without passing through the scheduler, the runtime's monitor took
// the P out of every call it found in progress (yieldPacer). The runtime's execution trace shows each
// system call's end: back to running on its P, or runnable, its P taken.
func TestRingDriverKeepsItsP(t *testing.T) {
	skipWithoutRing(t, "a goroutine drives a ring only on the io_uring backend")
	if testing.Short() {
		t.Skip("reads for 3 x 300 ms under the execution tracer")
	}
	// With one P there is never an idle one, and the monitor takes a P
	// from any call that spans its tick, yield or not: the case needs two.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	rt := newRuntime(t, Config{})
	f := openFile(t, rt, tempPath(t))
	const size = 1 << 20
	if _, err := f.WriteAt(AlignedBuffer(size), 0); err != nil {
		t.Fatal(err)
	}
	buf := AlignedBuffer(4096)
	readAt := func(off int64) error { _, err := f.ReadAt(buf, off); return err }
	for _, c := range []struct {
		name string
		read func(off int64) error
	}{{"ReadAt", readAt}, {"Context depth 1", contextReader(t, rt, f, 1)}, {"Context depth 32", contextReader(t, rt, f, 32)}} {
		t.Run(c.name, func(t *testing.T) {
			ends, taken := traceReads(t, 300*time.Millisecond, size, c.read)
			t.Logf("%d system calls ended, %d of them with the P taken", ends, taken)
			if ends < 100 {
				t.Fatalf("only %d system calls in 300 ms of reads", ends)
			}
			if taken*100 > ends {
				t.Errorf("the P was taken from %d of the driver's %d system calls", taken, ends)
			}
		})
	}
}

// contextReader returns a reader that keeps depth reads in flight on a
// Context of its own: each call submits one, after taking a completion
// once depth are in flight.
func contextReader(t *testing.T, rt *Runtime, f *File, depth int) func(off int64) error {
	ctx, err := rt.NewContext(depth)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ctx.Close() })
	cbs := make([]IOCB, depth)
	for i := range cbs {
		cbs[i] = IOCB{Op: OpRead, File: f, Buf: AlignedBuffer(4096)}
	}
	events := make([]Event, 1)
	inflight := 0
	return func(off int64) error {
		cb := &cbs[inflight%depth]
		if inflight == depth {
			if _, err := ctx.GetEvents(1, events, -1); err != nil {
				return err
			}
			if events[0].Err != nil {
				return events[0].Err
			}
			cb = events[0].IOCB
		} else {
			inflight++
		}
		cb.Offset = off
		_, err := ctx.Submit(cb)
		return err
	}
}

// traceReads calls read on a goroutine of its own, at 4 KiB offsets in
// turn, for d, under the execution tracer, and counts that goroutine's
// system calls that ended and those that ended with the P taken.
func traceReads(t *testing.T, d time.Duration, size int64, read func(off int64) error) (ends, taken int) {
	var out bytes.Buffer
	if err := trace.Start(&out); err != nil {
		t.Skipf("the execution tracer is in use (go test -trace?): %v", err)
	}
	errc := make(chan error, 1)
	go func() {
		trace.Log(context.Background(), "driver", "")
		end := time.Now().Add(d)
		var err error
		for i := int64(0); err == nil && time.Now().Before(end); i++ {
			err = read(i * 4096 % size)
		}
		errc <- err
	}()
	err := <-errc
	trace.Stop()
	if err != nil {
		t.Fatal(err)
	}
	r, err := xtrace.NewReader(&out)
	if err != nil {
		t.Fatal(err)
	}
	driver := xtrace.NoGoroutine
	for {
		ev, err := r.ReadEvent()
		if err != nil {
			break // io.EOF, or a cut trace: what was read counts
		}
		switch ev.Kind() {
		case xtrace.EventLog:
			if ev.Log().Category == "driver" {
				driver = ev.Goroutine()
			}
		case xtrace.EventStateTransition:
			st := ev.StateTransition()
			if st.Resource.Kind != xtrace.ResourceGoroutine || st.Resource.Goroutine() != driver {
				continue
			}
			if from, to := st.Goroutine(); from == xtrace.GoSyscall {
				ends++
				if to == xtrace.GoRunnable {
					taken++
				}
			}
		}
	}
	return ends, taken
}
