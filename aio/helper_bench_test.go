package aio

import (
	"slices"
	"testing"
	"time"
)

// BenchmarkSubmitThenCompute: a Context's user submits 32 reads and then
// computes for 2 ms before it calls GetEvents, as a database that
// prefetches and goes on working does. Nothing of the user's enters the
// kernel in that time: the runtime's helper places and submits the reads.
// Reported: how long the reads waited for the kernel to take them (from
// Submit until the ring held none of them unsubmitted, read by the
// computing loop itself), and how many rounds found all 32 complete at
// the first GetEvents after the 2 ms (a non-blocking one).
//
//	go test -run '^$' -bench SubmitThenCompute -benchtime 200x ./aio
func BenchmarkSubmitThenCompute(b *testing.B) {
	skipWithoutRing(b, "the helper is the io_uring backend's")
	rt := newRuntime(b, Config{})
	f := writtenFile(b, rt, 64<<20)
	ctx, err := rt.NewContext(32)
	if err != nil {
		b.Fatal(err)
	}
	defer ctx.Close()
	cbs := make([]*IOCB, 32)
	for i := range cbs {
		cbs[i] = &IOCB{Op: OpRead, File: f, Buf: AlignedBuffer(4096)}
	}
	events := make([]Event, 32)
	var delays []time.Duration
	allDone := 0
	b.ResetTimer()
	for round := range b.N {
		for i, cb := range cbs {
			cb.Offset = int64((round*32+i)%16384) * 4096
		}
		t0 := time.Now()
		if _, err := ctx.Submit(cbs...); err != nil {
			b.Fatal(err)
		}
		taken := time.Duration(-1)
		for time.Since(t0) < 2*time.Millisecond { // the computing
			if taken < 0 && !ctx.x.Waiting() {
				taken = time.Since(t0)
			}
		}
		if taken < 0 {
			taken = 2 * time.Millisecond
		}
		delays = append(delays, taken)
		n, err := ctx.GetEvents(0, events, 0)
		if err != nil {
			b.Fatal(err)
		}
		if n == 32 {
			allDone++
		}
		for got := n; got < 32; {
			k, err := ctx.GetEvents(1, events, 10*time.Second)
			if err != nil || k == 0 {
				b.Fatalf("GetEvents %d, %v", k, err)
			}
			got += k
		}
	}
	b.StopTimer()
	slices.Sort(delays)
	q := func(p float64) float64 { return float64(delays[int(p*float64(len(delays)-1))].Microseconds()) }
	b.ReportMetric(q(0.5), "taken-p50-us")
	b.ReportMetric(q(0.99), "taken-p99-us")
	b.ReportMetric(q(1), "taken-max-us")
	b.ReportMetric(100*float64(allDone)/float64(b.N), "%all-done-at-2ms")
}
