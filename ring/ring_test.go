package ring

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// configs are the setups every basic test runs under: the plain ring, and
// the one the runtime uses (one issuer, completion work deferred to it).
var configs = []struct {
	name string
	cfg  Config
}{
	{"plain", Config{Entries: 64}},
	{"single-issuer-defer", Config{Entries: 64, SingleIssuer: true, DeferTaskrun: true}},
	{"coop", Config{Entries: 64, CoopTaskrun: true}},
}

func forEachConfig(t *testing.T, f func(t *testing.T, r *Ring)) {
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) { f(t, newTestRing(t, c.cfg)) })
	}
}

func TestSetupReportsFlagsAndFeatures(t *testing.T) {
	r := newTestRing(t, Config{Entries: 100, SingleIssuer: true, DeferTaskrun: true})
	if r.SQEntries() != 128 {
		t.Errorf("SQEntries = %d, want 100 rounded up to 128", r.SQEntries())
	}
	if r.CQEntries() != 256 {
		t.Errorf("CQEntries = %d, want twice the SQ", r.CQEntries())
	}
	want := SetupSingleIssuer | SetupDeferTaskrun | SetupTaskrunFlag
	if r.SetupFlags()&want != want {
		t.Errorf("SetupFlags = %#x, want %#x set on kernel 6.x", r.SetupFlags(), want)
	}
	for _, f := range []uint32{FeatSingleMmap, FeatNoDrop, FeatSubmitStable, FeatExtArg} {
		if r.Features()&f == 0 {
			t.Errorf("kernel feature %#x missing: features %#x", f, r.Features())
		}
	}
}

func TestNopRoundTrip(t *testing.T) {
	forEachConfig(t, func(t *testing.T, r *Ring) {
		const n = 40
		for i := range n {
			s := sqe(t, r)
			s.PrepNop()
			s.UserData = uint64(1000 + i)
		}
		if got, err := r.Submit(); err != nil || got != n {
			t.Fatalf("Submit = %d, %v; want %d", got, err, n)
		}
		seen := map[uint64]bool{}
		for _, c := range collect(t, r, n) {
			if c.Res != 0 {
				t.Errorf("NOP %d: res %d", c.UserData, c.Res)
			}
			if seen[c.UserData] || c.UserData < 1000 || c.UserData >= 1000+n {
				t.Errorf("unexpected or repeated user_data %d", c.UserData)
			}
			seen[c.UserData] = true
		}
	})
}

func TestDirectWriteReadBack(t *testing.T) {
	forEachConfig(t, func(t *testing.T, r *Ring) {
		_, fd := directFile(t)
		const size = 64 << 10
		w := alignedBuf(t, size)
		fillRandom(w, 1)
		s := sqe(t, r)
		s.PrepWrite(fd, w, 8192, 0)
		s.UserData = 1
		if c := waitOne(t, r); c.Res != size || c.UserData != 1 {
			t.Fatalf("write: %+v, want res %d", c, size)
		}
		rd := alignedBuf(t, size)
		s = sqe(t, r)
		s.PrepRead(fd, rd, 8192, 0)
		s.UserData = 2
		if c := waitOne(t, r); c.Res != size || c.UserData != 2 {
			t.Fatalf("read: %+v, want res %d", c, size)
		}
		if !bytes.Equal(w, rd) {
			t.Fatal("data read back differs from data written")
		}
	})
}

// TestDeferredCompletionsReachReap checks that with DEFER_TASKRUN a
// completion that needs task work (a real disk read) is reaped by Reap
// alone, without a wait: Reap must notice IORING_SQ_TASKRUN and enter.
func TestDeferredCompletionsReachReap(t *testing.T) {
	r := newTestRing(t, Config{Entries: 8, SingleIssuer: true, DeferTaskrun: true})
	f, fd := directFile(t)
	buf := alignedBuf(t, 4096)
	fillRandom(buf, 7)
	if _, err := f.WriteAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	s := sqe(t, r)
	s.PrepRead(fd, buf, 0, 0)
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	var cqe [1]CQE
	deadline := time.Now().Add(5 * time.Second)
	for r.Reap(cqe[:]) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("Reap never saw the completion of a deferred read")
		}
		time.Sleep(100 * time.Microsecond)
	}
	if cqe[0].Res != 4096 {
		t.Fatalf("read res %d", cqe[0].Res)
	}
}

func TestReadvWritev(t *testing.T) {
	forEachConfig(t, func(t *testing.T, r *Ring) {
		_, fd := directFile(t)
		mem := alignedBuf(t, 3*4096)
		fillRandom(mem, 2)
		// Three buffers out of order in memory, written as one contiguous
		// range: block 2, block 0, block 1.
		iov := make([]unix.Iovec, 3)
		for i, blk := range []int{2, 0, 1} {
			iov[i].Base = &mem[blk*4096]
			iov[i].SetLen(4096)
		}
		s := sqe(t, r)
		s.PrepWritev(fd, iov, 0, 0)
		if c := waitOne(t, r); c.Res != 3*4096 {
			t.Fatalf("writev res %d", c.Res)
		}
		back := alignedBuf(t, 3*4096)
		riov := make([]unix.Iovec, 2)
		riov[0].Base = &back[0]
		riov[0].SetLen(4096)
		riov[1].Base = &back[4096]
		riov[1].SetLen(2 * 4096)
		s = sqe(t, r)
		s.PrepReadv(fd, riov, 0, 0)
		if c := waitOne(t, r); c.Res != 3*4096 {
			t.Fatalf("readv res %d", c.Res)
		}
		want := append(append(append([]byte{}, mem[2*4096:]...), mem[:4096]...), mem[4096:2*4096]...)
		if !bytes.Equal(back, want) {
			t.Fatal("readv did not return what writev wrote, in order")
		}
	})
}

func TestFixedFilesAndBuffers(t *testing.T) {
	forEachConfig(t, func(t *testing.T, r *Ring) {
		_, fd := directFile(t)
		_, fd2 := directFile(t)
		bufs := [][]byte{alignedBuf(t, 8192), alignedBuf(t, 8192)}
		if err := r.RegisterBuffers(bufs); err != nil {
			t.Fatal(err)
		}
		if err := r.RegisterFiles([]int32{-1, fd}); err != nil {
			t.Fatal(err)
		}
		fillRandom(bufs[0], 3)
		s := sqe(t, r)
		s.PrepWriteFixed(1, bufs[0][4096:], 0, 0, 0) // the second half of buffer 0
		s.UseFixedFile(1)
		if c := waitOne(t, r); c.Res != 4096 {
			t.Fatalf("write_fixed res %d", c.Res)
		}
		s = sqe(t, r)
		s.PrepReadFixed(1, bufs[1][:4096], 0, 1, 0)
		s.UseFixedFile(1)
		if c := waitOne(t, r); c.Res != 4096 {
			t.Fatalf("read_fixed res %d", c.Res)
		}
		if !bytes.Equal(bufs[1][:4096], bufs[0][4096:]) {
			t.Fatal("read_fixed returned other data than write_fixed wrote")
		}
		// Slot 0 was registered empty: I/O on it fails with EBADF.
		s = sqe(t, r)
		s.PrepReadFixed(0, bufs[1][:4096], 0, 1, 0)
		s.UseFixedFile(0)
		if c := waitOne(t, r); c.Res != -int32(unix.EBADF) {
			t.Fatalf("I/O on an empty fixed-file slot: res %d, want -EBADF", c.Res)
		}
		// Fill slot 0 with the second file, then write through it.
		if n, err := r.UpdateFiles(0, []int32{fd2}); err != nil || n != 1 {
			t.Fatalf("UpdateFiles = %d, %v", n, err)
		}
		s = sqe(t, r)
		s.PrepWriteFixed(0, bufs[0][:4096], 4096, 0, 0)
		s.UseFixedFile(0)
		if c := waitOne(t, r); c.Res != 4096 {
			t.Fatalf("write through the updated slot: res %d", c.Res)
		}
		var st unix.Stat_t
		if err := unix.Fstat(int(fd2), &st); err != nil || st.Size != 8192 {
			t.Fatalf("second file size %d (%v), want 8192", st.Size, err)
		}
		// A buffer outside the registered one is refused with EFAULT.
		other := alignedBuf(t, 4096)
		s = sqe(t, r)
		s.PrepReadFixed(1, other, 0, 0, 0)
		s.UseFixedFile(1)
		if c := waitOne(t, r); c.Res != -int32(unix.EFAULT) {
			t.Fatalf("read_fixed outside the registered buffer: res %d, want -EFAULT", c.Res)
		}
		if err := r.UnregisterFiles(); err != nil {
			t.Fatal(err)
		}
		if err := r.UnregisterBuffers(); err != nil {
			t.Fatal(err)
		}
		if err := r.UnregisterBuffers(); err == nil {
			t.Fatal("second UnregisterBuffers succeeded; want ENXIO")
		}
	})
}

func TestFsyncAndFallocate(t *testing.T) {
	forEachConfig(t, func(t *testing.T, r *Ring) {
		f, fd := directFile(t)
		s := sqe(t, r)
		s.PrepFallocate(fd, 0, 0, 1<<20)
		if c := waitOne(t, r); c.Res != 0 {
			t.Fatalf("fallocate res %d", c.Res)
		}
		st, err := f.Stat()
		if err != nil || st.Size() != 1<<20 {
			t.Fatalf("size after fallocate: %v, %v; want 1 MiB", st.Size(), err)
		}
		if blocks := st.Sys().(*syscall.Stat_t).Blocks; blocks*512 < 1<<20 {
			t.Fatalf("fallocate allocated %d bytes, want at least 1 MiB", blocks*512)
		}
		// KEEP_SIZE allocates past the end without changing the size.
		s = sqe(t, r)
		s.PrepFallocate(fd, unix.FALLOC_FL_KEEP_SIZE, 1<<20, 1<<20)
		if c := waitOne(t, r); c.Res != 0 {
			t.Fatalf("fallocate keep-size res %d", c.Res)
		}
		if st, _ := f.Stat(); st.Size() != 1<<20 {
			t.Fatalf("KEEP_SIZE changed the size to %d", st.Size())
		}
		for _, flags := range []uint32{0, FsyncDatasync} {
			s = sqe(t, r)
			s.PrepFsync(fd, flags)
			if c := waitOne(t, r); c.Res != 0 {
				t.Fatalf("fsync(flags %d) res %d", flags, c.Res)
			}
		}
		s = sqe(t, r)
		s.PrepFsync(-1, 0)
		if c := waitOne(t, r); c.Res != -int32(unix.EBADF) {
			t.Fatalf("fsync of fd -1: res %d, want -EBADF", c.Res)
		}
	})
}

func TestTimeout(t *testing.T) {
	forEachConfig(t, func(t *testing.T, r *Ring) {
		start := time.Now()
		s := sqe(t, r)
		r.PrepTimeout(s, 20*time.Millisecond, 0, 0)
		s.UserData = 9
		c := waitOne(t, r)
		if c.Res != -int32(unix.ETIME) || c.UserData != 9 {
			t.Fatalf("timeout: %+v, want res -ETIME", c)
		}
		if el := time.Since(start); el < 20*time.Millisecond {
			t.Fatalf("timeout fired after %v, before its 20ms", el)
		}
		// With a count, the timeout completes (res 0) once that many other
		// completions are posted, long before its time.
		s = sqe(t, r)
		r.PrepTimeout(s, time.Minute, 2, 0)
		s.UserData = 10
		for i := range 2 {
			s = sqe(t, r)
			s.PrepNop()
			s.UserData = uint64(11 + i)
		}
		if _, err := r.Submit(); err != nil {
			t.Fatal(err)
		}
		for _, c := range collect(t, r, 3) {
			if c.Res != 0 {
				t.Errorf("%+v: want res 0", c)
			}
		}
	})
}

func TestCancel(t *testing.T) {
	forEachConfig(t, func(t *testing.T, r *Ring) {
		s := sqe(t, r)
		r.PrepTimeout(s, time.Hour, 0, 0)
		s.UserData = 77
		if _, err := r.Submit(); err != nil {
			t.Fatal(err)
		}
		s = sqe(t, r)
		s.PrepCancel(77, 0, 0)
		s.UserData = 78
		if _, err := r.Submit(); err != nil {
			t.Fatal(err)
		}
		res := map[uint64]int32{}
		for _, c := range collect(t, r, 2) {
			res[c.UserData] = c.Res
		}
		if res[77] != -int32(unix.ECANCELED) || res[78] != 0 {
			t.Fatalf("cancel: results %v, want 77: -ECANCELED, 78: 0", res)
		}
		// Cancelling what is not in flight says ENOENT.
		s = sqe(t, r)
		s.PrepCancel(12345, 0, 0)
		if c := waitOne(t, r); c.Res != -int32(unix.ENOENT) {
			t.Fatalf("cancel of nothing: res %d, want -ENOENT", c.Res)
		}
	})
}

func TestFullSubmissionQueue(t *testing.T) {
	r := newTestRing(t, Config{Entries: 4})
	for i := range 4 {
		s := sqe(t, r)
		s.PrepNop()
		s.UserData = uint64(i)
	}
	if r.NextSQE() != nil || r.SQSpace() != 0 {
		t.Fatal("NextSQE handed out a fifth entry from a 4-entry queue")
	}
	if n, err := r.Submit(); err != nil || n != 4 {
		t.Fatalf("Submit = %d, %v", n, err)
	}
	// After the flush the queue has room again: submit 4 more.
	for i := range 4 {
		s := sqe(t, r)
		s.PrepNop()
		s.UserData = uint64(4 + i)
	}
	if n, err := r.Submit(); err != nil || n != 4 {
		t.Fatalf("second Submit = %d, %v", n, err)
	}
	seen := map[uint64]bool{}
	for _, c := range collect(t, r, 8) {
		seen[c.UserData] = true
	}
	if len(seen) != 8 {
		t.Fatalf("got completions for %v, want 0..7", seen)
	}
}

// TestCQOverflowLosesNothing posts four times as many completions as the
// CQ holds without reaping in between: the kernel keeps the excess
// (FEAT_NODROP) and Reap must deliver every one.
func TestCQOverflowLosesNothing(t *testing.T) {
	forEachConfig(t, func(t *testing.T, r *Ring) {
		r.Close()
		r = newTestRing(t, Config{Entries: 8, CQEntries: 8,
			SingleIssuer: r.setupFlags&SetupSingleIssuer != 0, DeferTaskrun: r.setupFlags&SetupDeferTaskrun != 0})
		if r.Features()&FeatNoDrop == 0 {
			t.Fatal("kernel lacks FEAT_NODROP: completions can be lost")
		}
		const total = 32
		for i := range total {
			s := r.NextSQE()
			if s == nil {
				if n, err := r.Submit(); err != nil {
					t.Fatalf("Submit after %d: %d, %v", i, n, err)
				}
				s = sqe(t, r)
			}
			s.PrepNop()
			s.UserData = uint64(i)
		}
		if _, err := r.Submit(); err != nil {
			t.Fatal(err)
		}
		// NOPs complete inline at submit, so the CQ must be full now and
		// the rest held in the kernel's backlog.
		if got := r.CQReady(); got != r.CQEntries() {
			t.Fatalf("CQReady %d, want the full CQ (%d): the burst did not overflow", got, r.CQEntries())
		}
		if !r.cqNeedsEnter() {
			t.Fatal("kernel does not flag the overflow backlog (IORING_SQ_CQ_OVERFLOW)")
		}
		// Reap alone (no wait) must drain the backlog too.
		seen := make([]int, total)
		buf := make([]CQE, 5)
		for got := 0; got < total; {
			n := r.Reap(buf)
			if n == 0 {
				t.Fatalf("Reap returned nothing after %d of %d completions", got, total)
			}
			for _, c := range buf[:n] {
				seen[c.UserData]++
			}
			got += n
		}
		for i, n := range seen {
			if n != 1 {
				t.Errorf("user_data %d completed %d times", i, n)
			}
		}
		if *r.cq.overflow != 0 {
			t.Errorf("kernel reports %d dropped completions", *r.cq.overflow)
		}
	})
}

// TestNowaitWritePastEOFReturnsEAGAIN is the kernel behaviour the whole
// project is built on: a NOWAIT write that would extend the file (and so
// take the inode lock and allocate) completes with -EAGAIN instead of
// blocking, while a NOWAIT overwrite of written blocks succeeds.
func TestNowaitWritePastEOFReturnsEAGAIN(t *testing.T) {
	forEachConfig(t, func(t *testing.T, r *Ring) {
		f, fd := directFile(t)
		buf := alignedBuf(t, 4096)
		s := sqe(t, r)
		s.PrepWrite(fd, buf, 0, RWFNoWait)
		if c := waitOne(t, r); c.Res != -int32(unix.EAGAIN) {
			t.Fatalf("NOWAIT append: res %d, want -EAGAIN", c.Res)
		}
		if st, _ := f.Stat(); st.Size() != 0 {
			t.Fatalf("a refused NOWAIT write changed the size to %d", st.Size())
		}
		if _, err := f.WriteAt(buf, 0); err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		s = sqe(t, r)
		s.PrepWrite(fd, buf, 0, RWFNoWait)
		if c := waitOne(t, r); c.Res != 4096 {
			t.Fatalf("NOWAIT overwrite of a written block: res %d, want 4096", c.Res)
		}
	})
}

func TestProbe(t *testing.T) {
	r := newTestRing(t, Config{Entries: 4})
	p, err := r.Probe()
	if err != nil {
		t.Fatal(err)
	}
	need := []uint8{OpNop, OpReadv, OpWritev, OpFsync, OpReadFixed, OpWriteFixed, OpPollAdd,
		OpTimeout, OpAsyncCancel, OpFallocate, OpRead, OpWrite}
	if err := p.Require(need...); err != nil {
		t.Fatal(err)
	}
	if p.Supported(255) {
		t.Fatal("probe says opcode 255 is supported")
	}
	if err := p.Require(OpRead, 255); err == nil {
		t.Fatal("Require(255) succeeded")
	}
}

func TestCloseTwiceAndUseAfterClose(t *testing.T) {
	r := newTestRing(t, Config{Entries: 4})
	s := sqe(t, r)
	s.PrepNop()
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := r.Close(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("second Close: %v, want os.ErrClosed", err)
	}
	if r.NextSQE() != nil {
		t.Fatal("NextSQE after Close handed out an entry")
	}
	if _, err := r.Submit(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Submit after Close: %v", err)
	}
	if _, err := r.SubmitAndReap(make([]CQE, 1)); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("SubmitAndReap after Close: %v", err)
	}
	if n := r.Reap(make([]CQE, 4)); n != 0 {
		t.Fatalf("Reap after Close returned %d", n)
	}
	if _, err := r.Wait(make([]CQE, 1), 1, time.Millisecond); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Wait after Close: %v", err)
	}
	if err := r.RegisterFiles([]int32{0}); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("RegisterFiles after Close: %v", err)
	}
	if _, err := r.Probe(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Probe after Close: %v", err)
	}
	if r.SQSpace() != 0 || r.SQPending() != 0 || r.CQReady() != 0 {
		t.Fatal("queue counters after Close are not zero")
	}
}

func TestBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Entries: 16, CQEntries: 8},
		{Entries: 16, SQPoll: true, SQPollIdle: -time.Second},
	} {
		if r, err := New(cfg); err == nil {
			r.Close()
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
	needRing(t) // what the kernel refuses or clamps
	if _, err := New(Config{Entries: 1 << 20}); err == nil {
		t.Error("New with 1M entries succeeded without Clamp")
	}
	r, err := New(Config{Entries: 1 << 20, Clamp: true})
	if err != nil {
		t.Fatalf("New with Clamp: %v", err)
	}
	defer r.Close()
	if r.SQEntries() >= 1<<20 {
		t.Errorf("Clamp left %d entries", r.SQEntries())
	}
}

// TestSetupFallsBackWithoutRefusedFlags makes the kernel appear not to know
// DEFER_TASKRUN and SINGLE_ISSUER (as before 6.0/6.1): New must retry
// without them and the ring must work.
func TestSetupFallsBackWithoutRefusedFlags(t *testing.T) {
	old := sysSetupFn
	defer func() { sysSetupFn = old }()
	var tried []uint32
	sysSetupFn = func(entries uint32, p *params) (int, error) {
		tried = append(tried, p.Flags)
		if p.Flags&(SetupDeferTaskrun|SetupSingleIssuer) != 0 {
			return -1, unix.EINVAL
		}
		return old(entries, p)
	}
	r := newTestRing(t, Config{Entries: 8, SingleIssuer: true, DeferTaskrun: true, CoopTaskrun: true})
	if r.SetupFlags()&(SetupDeferTaskrun|SetupSingleIssuer) != 0 {
		t.Fatalf("flags %#x still hold a refused flag", r.SetupFlags())
	}
	if r.SetupFlags()&SetupCoopTaskrun == 0 {
		t.Fatalf("flags %#x dropped COOP_TASKRUN, which the kernel accepted", r.SetupFlags())
	}
	if len(tried) != 3 {
		t.Fatalf("setup tried flags %#x, want 3 attempts", tried)
	}
	s := sqe(t, r)
	s.PrepNop()
	if c := waitOne(t, r); c.Res != 0 {
		t.Fatalf("NOP on the fallback ring: res %d", c.Res)
	}
}

func TestUnavailableNamesTheCause(t *testing.T) {
	old := sysSetupFn
	defer func() { sysSetupFn = old }()
	oldPath := disabledSysctlPath
	defer func() { disabledSysctlPath = oldPath }()
	disabledSysctlPath = filepath.Join(t.TempDir(), "io_uring_disabled")

	cases := []struct {
		errno  unix.Errno
		sysctl string
		want   string
	}{
		{unix.ENOSYS, "0", "seccomp"},
		{unix.ENOSYS, "0", "older than 5.1"},
		{unix.EPERM, "2", "kernel.io_uring_disabled is 2"},
		{unix.EPERM, "0", "seccomp filter"},
		{unix.EACCES, "1", "kernel.io_uring_disabled is 1"},
	}
	for _, c := range cases {
		if err := os.WriteFile(disabledSysctlPath, []byte(c.sysctl+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		sysSetupFn = func(uint32, *params) (int, error) { return -1, c.errno }
		_, err := New(Config{Entries: 8})
		if !IsUnavailable(err) || !errors.Is(err, c.errno) {
			t.Errorf("%v: New error %v is not an UnavailableError wrapping the errno", c.errno, err)
			continue
		}
		if !bytes.Contains([]byte(err.Error()), []byte(c.want)) {
			t.Errorf("%v with sysctl %s: %q does not say %q", c.errno, c.sysctl, err, c.want)
		}
	}
	// Any other failure is an ordinary error, not "unavailable".
	sysSetupFn = func(uint32, *params) (int, error) { return -1, unix.ENOMEM }
	if _, err := New(Config{Entries: 8}); err == nil || IsUnavailable(err) || !errors.Is(err, unix.ENOMEM) {
		t.Errorf("ENOMEM: %v", err)
	}
}

// TestSendMsgRingWakesAwait: a CQE posted from another goroutine, without
// a ring of its own, wakes a goroutine waiting in Await and carries its
// user_data and result.
func TestSendMsgRingWakesAwait(t *testing.T) {
	r := newTestRing(t, Config{Entries: 8})
	if err := SendMsgRing(r.Fd(), 7, 1); err == unix.EINVAL {
		t.Skipf("no IORING_REGISTER_SEND_MSG_RING (Linux 6.13): %v", err)
	} else if err != nil {
		t.Fatal(err)
	}
	var c [2]CQE
	if n := r.Reap(c[:]); n != 1 || c[0].UserData != 7 || c[0].Res != 1 {
		t.Fatalf("after SendMsgRing: %d CQEs %+v", n, c[:n])
	}
	done := make(chan error, 1)
	go func() { done <- r.Await(1, 5*time.Second) }()
	time.Sleep(20 * time.Millisecond) // let it sleep in the kernel
	if err := SendMsgRing(r.Fd(), 9, -4); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(4 * time.Second):
		t.Fatal("Await was not woken by SendMsgRing")
	}
	if n := r.Reap(c[:]); n != 1 || c[0].UserData != 9 || c[0].Res != -4 {
		t.Fatalf("the message CQE: %d %+v", n, c[:n])
	}
	if err := r.Await(1, 10*time.Millisecond); err != nil {
		t.Fatalf("Await with nothing to come: %v, want a quiet timeout", err)
	}
}

// TestSleepUnscheduledSleeps: the raw nap lasts at least what it was asked
// for, preemption signals and all (the runtime's SIGURG interrupts it).
func TestSleepUnscheduledSleeps(t *testing.T) {
	for _, d := range []time.Duration{100 * time.Microsecond, 2 * time.Millisecond, 25 * time.Millisecond} {
		t0 := time.Now()
		SleepUnscheduled(d)
		if got := time.Since(t0); got < d {
			t.Errorf("asked for %v, slept %v", d, got)
		}
	}
}
