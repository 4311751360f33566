package aio

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/aio/internal/engine"
	"github.com/nowaitio/nowait/ring"
)

// faultPlan injects faults into every shard's ring from a seed: completion
// results rewritten to hard errors (EIO, ENOSPC, ECANCELED), to retryable
// ones (EAGAIN, EINTR) or to short transfers, and io_uring_enter answering
// EINTR, EBUSY or EAGAIN. It records what it did to which request.
//
// Owner: the shards' goroutines call the hooks; mu guards the record.
type faultPlan struct {
	mu       sync.Mutex
	rng      *rand.Rand
	cqePct   int
	enterPct int
	only     Op                 // 0: any request; else only requests with this op
	atIndex  map[int]unix.Errno // fail the completion with this index (counted over all)
	index    int
	hard     map[uint64]unix.Errno // IOCB.UserData -> the hard error injected
	soft     int                   // retryable faults injected
	enters   int                   // enter faults injected
}

var hardErrnos = []unix.Errno{unix.EIO, unix.ENOSPC, unix.ECANCELED}

func (p *faultPlan) install(t *testing.T) {
	engine.TestHook = func(s *engine.Ring) {
		s.Kernel().InjectCQEFaults(func(c *ring.CQE) { p.onCQE(s, c) })
		s.Kernel().InjectEnterFaults(p.onEnter)
	}
	t.Cleanup(func() { engine.TestHook = nil })
}

func (p *faultPlan) onCQE(s *engine.Ring, c *ring.CQE) {
	if c.UserData == wakeTag {
		return
	}
	r := s.RequestOf(c.UserData)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.index++
	if errno, ok := p.atIndex[p.index-1]; ok {
		if _, done := p.hard[userDataOf(r)]; !done {
			p.hard[userDataOf(r)] = errno
			c.Res = -int32(errno)
		}
		return
	}
	if (p.only != 0 && r.Op != p.only) || p.rng.IntN(100) >= p.cqePct {
		return
	}
	if _, done := p.hard[userDataOf(r)]; done {
		return // one hard error per request: that is the one it must see
	}
	switch k := p.rng.IntN(5); {
	case k < 2:
		errno := hardErrnos[p.rng.IntN(len(hardErrnos))]
		p.hard[userDataOf(r)] = errno
		c.Res = -int32(errno)
	case k == 2:
		c.Res = -int32(unix.EAGAIN)
		p.soft++
	case k == 3:
		c.Res = -int32(unix.EINTR)
		p.soft++
	case c.Res > 1 && r.Op != OpFsync && r.Op != OpFdatasync:
		c.Res /= 2 // a short transfer
		if b := s.BioOf(c.UserData); r.Op == OpRead {
			// As if the kernel had read only that much: the rest of the
			// memory holds no data.
			buf := b.Seg.Buf
			clear(buf[min(int(c.Res), len(buf)):])
		}
		p.soft++
	}
}

func (p *faultPlan) onEnter() unix.Errno {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rng.IntN(100) >= p.enterPct {
		return 0
	}
	p.enters++
	return []unix.Errno{unix.EINTR, unix.EBUSY, unix.EAGAIN}[p.rng.IntN(3)]
}

// TestFaultInjection runs reads and writes of distinct blocks with faults
// injected into a fifth of the completions and of the io_uring_enter calls.
func TestFaultInjection(t *testing.T) {
	skipWithoutRing(t, "injects into the io_uring backend's rings; the syscall backend has no ring to fault")
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	plan := &faultPlan{rng: rand.New(rand.NewPCG(seed, 1)), cqePct: 20, enterPct: 20, hard: map[uint64]unix.Errno{}}
	plan.install(t)
	rt := newRuntime(t, Config{QueueDepth: 32})
	path := tempPath(t)
	const blocks = 512
	disk := make([]byte, blocks*4096)
	for i := range disk {
		disk[i] = pattern(1, int64(i))
	}
	if err := os.WriteFile(path, disk, 0o600); err != nil {
		t.Fatal(err)
	}
	f := openFile(t, rt, path)
	ctx, _ := rt.NewContext(64)
	var cbs []*IOCB
	for i := range 2000 {
		blk := int64(i % blocks)
		cb := &IOCB{Op: OpRead, File: f, Buf: AlignedBuffer(4096), Offset: blk * 4096, UserData: uint64(i)}
		if i%blocks >= blocks/2 { // writes to the upper half, reads of the lower
			cb.Op = OpWrite
			for k := range cb.Buf {
				cb.Buf[k] = pattern(2+i/blocks, blk*4096+int64(k))
			}
		}
		cbs = append(cbs, cb)
	}
	seen := make([]int, len(cbs))
	events := make([]Event, 64)
	for next, done := 0, 0; done < len(cbs); {
		if next < len(cbs) {
			n, err := ctx.Submit(cbs[next:min(next+64, len(cbs))]...)
			if err != nil && !errors.Is(err, ErrWouldBlock) {
				t.Fatal(err)
			}
			next += n
		}
		n, err := ctx.GetEvents(1, events, 10*time.Second)
		if err != nil || n == 0 {
			t.Fatalf("GetEvents: %d, %v after %d of %d: the runtime stopped serving", n, err, done, len(cbs))
		}
		for _, ev := range events[:n] {
			id := ev.IOCB.UserData
			seen[id]++
			plan.mu.Lock()
			want, hard := plan.hard[id]
			plan.mu.Unlock()
			switch {
			case hard && !errors.Is(ev.Err, want):
				t.Errorf("request %d: injected %v, got %v", id, want, ev.Err)
			case !hard && ev.Err != nil:
				t.Errorf("request %d: error %v with no hard fault injected (EAGAIN, EINTR and short transfers must be retried)", id, ev.Err)
			case !hard && ev.IOCB.Op == OpRead:
				off := ev.IOCB.Offset
				if !bytes.Equal(ev.IOCB.Buf, disk[off:off+4096]) || ev.N != 4096 {
					t.Errorf("request %d: read at %d returned wrong data (n %d)", id, off, ev.N)
				}
			}
		}
		done += n
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("request %d completed %d times", id, n)
		}
	}
	t.Logf("hard faults %d, retryable %d, enter faults %d; %+v", len(plan.hard), plan.soft, plan.enters, rt.Stats())
	if len(plan.hard) == 0 || plan.soft == 0 || plan.enters == 0 {
		t.Fatal("the plan injected too little to show anything")
	}
}

// TestFailedSyncIsSticky: after an fdatasync fails, a later one that the
// kernel would let succeed still fails: the dirty data the first covered
// may be gone (PostgreSQL's fsyncgate).
func TestFailedSyncIsSticky(t *testing.T) {
	skipWithoutRing(t, "injects into the io_uring backend's rings")
	var failNext sync.Mutex
	inject := true
	engine.TestHook = func(s *engine.Ring) {
		s.Kernel().InjectCQEFaults(func(c *ring.CQE) {
			if c.UserData == wakeTag {
				return
			}
			failNext.Lock()
			defer failNext.Unlock()
			if r := s.RequestOf(c.UserData); inject && r.Op == OpFdatasync {
				c.Res = -int32(unix.EIO)
				inject = false
			}
		})
	}
	t.Cleanup(func() { engine.TestHook = nil })
	rt := newRuntime(t, Config{})
	f := openFile(t, rt, tempPath(t))
	if _, err := f.WriteAt(AlignedBuffer(4096), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.SyncData(); !errors.Is(err, unix.EIO) {
		t.Fatalf("the injected fdatasync failure: %v, want EIO", err)
	}
	if _, err := f.WriteAt(AlignedBuffer(4096), 4096); err != nil {
		t.Fatal(err)
	}
	for _, sync := range []func() error{f.SyncData, f.Sync} {
		if err := sync(); !errors.Is(err, unix.EIO) {
			t.Fatalf("a sync after a failed one: %v, want the first failure again", err)
		}
	}
}

// TestFailOpI fails completion i, then i+1, ... (the "fail op i" loop of
// pebble's errorfs): whichever request the fault lands on gets exactly that
// error, every other request succeeds, and nothing is lost.
func TestFailOpI(t *testing.T) {
	skipWithoutRing(t, "injects into the io_uring backend's rings")
	for i := range 12 {
		func() {
			plan := &faultPlan{rng: rand.New(rand.NewPCG(uint64(i), 1)), hard: map[uint64]unix.Errno{},
				atIndex: map[int]unix.Errno{i: hardErrnos[i%len(hardErrnos)]}}
			plan.install(t)
			defer func() { engine.TestHook = nil }()
			rt := newRuntime(t, Config{Shards: 1})
			f := openFile(t, rt, tempPath(t))
			if err := f.Allocate(0, 1<<20); err != nil {
				t.Fatal(err)
			}
			// Writes, where they go to the ring; where the filesystem
			// refuses NOWAIT writes (btrfs), reads of written data do.
			op := OpWrite
			if !f.ino.Prov.Policy().NoWaitWrites {
				if _, err := f.WriteAt(AlignedBuffer(64<<10), 0); err != nil {
					t.Fatal(err)
				}
				op = OpRead
			}
			ctx, _ := rt.NewContext(16)
			cbs := make([]*IOCB, 16)
			for k := range cbs {
				cbs[k] = &IOCB{Op: op, File: f, Buf: AlignedBuffer(4096), Offset: int64(k) * 4096, UserData: uint64(k)}
			}
			if _, err := ctx.Submit(cbs...); err != nil {
				t.Fatal(err)
			}
			events := make([]Event, 16)
			failed := 0
			for got := 0; got < 16; {
				n, err := ctx.GetEvents(1, events, 10*time.Second)
				if err != nil || n == 0 {
					t.Fatalf("op %d: GetEvents %d, %v after %d", i, n, err, got)
				}
				for _, ev := range events[:n] {
					plan.mu.Lock()
					want, hard := plan.hard[ev.IOCB.UserData]
					plan.mu.Unlock()
					if hard != (ev.Err != nil) || hard && !errors.Is(ev.Err, want) {
						t.Errorf("op %d: request %d got %v, injected %v", i, ev.IOCB.UserData, ev.Err, want)
					}
					if ev.Err != nil {
						failed++
					}
				}
				got += n
			}
			if failed != 1 {
				t.Errorf("op %d: %d requests failed, want exactly the one the fault landed on", i, failed)
			}
			rt.Close()
		}()
	}
}

// TestRingRefusedMidRun: io_uring_enter starts failing for good while the
// runtime runs (a seccomp filter installed since the proving NOP): what
// the rings have not submitted is taken back and done by the workers, and
// so is everything after; every request completes, with its data. (The
// first build dropped the error: the SQEs stayed queued for ever and the
// shard spun.)
func TestRingRefusedMidRun(t *testing.T) {
	skipWithoutRing(t, "injects into the io_uring backend's rings")
	{
		{
			var refuse atomic.Bool
			engine.TestHook = func(s *engine.Ring) {
				s.Kernel().InjectEnterFaults(func() unix.Errno {
					if refuse.Load() {
						return unix.EPERM
					}
					return 0
				})
			}
			defer func() { engine.TestHook = nil }()
			rt := newRuntime(t, Config{})
			f := openFile(t, rt, tempPath(t))
			if err := f.Allocate(0, 1<<20); err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt(AlignedBuffer(4096), 0); err != nil { // the ring works
				t.Fatal(err)
			}
			refuse.Store(true) // between requests: nothing is in the kernel
			ctx, err := rt.NewContext(32)
			if err != nil {
				t.Fatal(err)
			}
			defer ctx.Close()
			cbs := make([]*IOCB, 32)
			for i := range cbs {
				buf := AlignedBuffer(4096)
				for k := range buf {
					buf[k] = byte(i + 1)
				}
				cbs[i] = &IOCB{Op: OpWrite, File: f, Buf: buf, Offset: int64(i) * 4096, UserData: uint64(i)}
			}
			if _, err := ctx.Submit(cbs...); err != nil {
				t.Fatal(err)
			}
			events := make([]Event, 32)
			for got := 0; got < 32; {
				n, err := ctx.GetEvents(1, events, 10*time.Second)
				if err != nil || n == 0 {
					t.Fatalf("GetEvents %d, %v after %d of 32 (the refused ring's work is stuck)", n, err, got)
				}
				for _, ev := range events[:n] {
					if ev.Err != nil {
						t.Fatalf("write %d: %v", ev.IOCB.UserData, ev.Err)
					}
				}
				got += n
			}
			buf := make([]byte, 4096)
			for i := range 32 {
				if _, err := f.ReadAt(buf, int64(i)*4096); err != nil || buf[0] != byte(i+1) || buf[4095] != byte(i+1) {
					t.Fatalf("block %d after the refused ring: %v, %d", i, err, buf[0])
				}
			}
			if st := rt.Stats(); st.RingRefused == 0 {
				t.Errorf("Stats.RingRefused 0: the requests did not go the refused way (%+v)", st)
			}
		}
	}
}

// TestRingRefusedWithIOInFlight: a Context's ring refuses io_uring_enter
// for good while 32 writes it took are in the kernel: every write still
// completes through GetEvents, exactly once, with its data on disk, and
// what comes after goes to the workers. (TestRingRefusedMidRun refuses
// between requests, with nothing in the kernel.)
func TestRingRefusedWithIOInFlight(t *testing.T) {
	skipWithoutRing(t, "injects into the io_uring backend's rings")
	var refuse atomic.Bool
	var allow atomic.Int32 // enters still let through after the refusal starts
	engine.TestHook = func(s *engine.Ring) {
		s.Kernel().InjectEnterFaults(func() unix.Errno {
			if refuse.Load() && allow.Add(-1) < 0 {
				return unix.EPERM
			}
			return 0
		})
	}
	defer func() { engine.TestHook = nil }()
	rt := newRuntime(t, Config{})
	// Submit places the writes; the next enter (GetEvents', or the
	// helper's) takes them into the kernel. It is let through, so that
	// they are in the kernel when the ring refuses.
	allowed := int32(1)
	f := openFile(t, rt, tempPath(t))
	if err := f.Allocate(0, 1<<20); err != nil {
		t.Fatal(err)
	}
	ctx, err := rt.NewContext(64)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	for round := range 5 {
		refuse.Store(false)
		allow.Store(allowed)
		cbs := make([]*IOCB, 32)
		for i := range cbs {
			buf := AlignedBuffer(4096)
			for k := range buf {
				buf[k] = byte(i + round*32 + 1)
			}
			cbs[i] = &IOCB{Op: OpWrite, File: f, Buf: buf, Offset: int64(i) * 4096, UserData: uint64(i)}
		}
		if _, err := ctx.Submit(cbs...); err != nil {
			t.Fatal(err)
		}
		refuse.Store(true) // the writes are in the kernel, or on their way
		seen := make([]bool, 32)
		events := make([]Event, 32)
		for got := 0; got < 32; {
			n, err := ctx.GetEvents(1, events, 10*time.Second)
			if err != nil || n == 0 {
				t.Fatalf("round %d: GetEvents %d, %v after %d of 32 (in-flight work is stuck)", round, n, err, got)
			}
			for _, ev := range events[:n] {
				i := ev.IOCB.UserData
				if ev.Err != nil || seen[i] {
					t.Fatalf("round %d: write %d: %v (seen before: %v)", round, i, ev.Err, seen[i])
				}
				seen[i] = true
			}
			got += n
		}
		buf := make([]byte, 4096)
		for i := range 32 {
			if _, err := f.ReadAt(buf, int64(i)*4096); err != nil || buf[0] != byte(i+round*32+1) || buf[4095] != byte(i+round*32+1) {
				t.Fatalf("round %d: block %d: %v, %d", round, i, err, buf[0])
			}
		}
	}
}
