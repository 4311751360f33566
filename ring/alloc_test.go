package ring

import (
	"testing"
)

// The submit and reap paths must not allocate: a database issues millions
// of I/Os a second and the garbage collector must not pay for any of them.

func TestNopPathAllocatesNothing(t *testing.T) {
	r := newTestRing(t, Config{Entries: 64, SingleIssuer: true, DeferTaskrun: true})
	cqes := make([]CQE, 32)
	allocs := testing.AllocsPerRun(200, func() {
		for i := range 32 {
			s := r.NextSQE()
			s.PrepNop()
			s.UserData = uint64(i)
		}
		if _, err := r.SubmitAndWait(32); err != nil {
			t.Fatal(err)
		}
		if n := r.Reap(cqes); n != 32 {
			t.Fatalf("reaped %d", n)
		}
	})
	if allocs != 0 {
		t.Fatalf("NOP submit+reap of 32: %v allocations per run, want 0", allocs)
	}
}

func TestReadPathAllocatesNothing(t *testing.T) {
	r := newTestRing(t, Config{Entries: 64, SingleIssuer: true, DeferTaskrun: true})
	f, fd := directFile(t)
	buf := alignedBuf(t, 8*4096)
	if _, err := f.WriteAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	cqes := make([]CQE, 8)
	allocs := testing.AllocsPerRun(100, func() {
		for i := range 8 {
			s := r.NextSQE()
			s.PrepRead(fd, buf[i*4096:(i+1)*4096], uint64(i*4096), RWFNoWait)
			s.UserData = uint64(i)
		}
		got, err := r.SubmitAndReap(cqes)
		if err != nil {
			t.Fatal(err)
		}
		for got < 8 {
			n, err := r.Wait(cqes[got:], 8-got, 0)
			if err != nil {
				t.Fatal(err)
			}
			got += n
		}
	})
	if allocs != 0 {
		t.Fatalf("read submit+reap of 8: %v allocations per run, want 0", allocs)
	}
	// Timeouts use the ring's own timespec slots, not a fresh allocation.
	allocs = testing.AllocsPerRun(50, func() {
		s := r.NextSQE()
		r.PrepTimeout(s, 0, 0, 0)
		if _, err := r.SubmitAndWait(1); err != nil {
			t.Fatal(err)
		}
		r.Reap(cqes[:1])
	})
	if allocs != 0 {
		t.Fatalf("timeout submit+reap: %v allocations per run, want 0", allocs)
	}
}
