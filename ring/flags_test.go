package ring

import (
	"bytes"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestLinkedWriteThenFsync chains a write and an fsync with IO_LINK: the
// fsync starts only after the write succeeded. A failing head cancels
// the rest of its chain.
func TestLinkedWriteThenFsync(t *testing.T) {
	forEachConfig(t, func(t *testing.T, r *Ring) {
		f, fd := directFile(t)
		buf := alignedBuf(t, 4096)
		fillRandom(buf, 5)
		s := sqe(t, r)
		s.PrepWrite(fd, buf, 0, 0)
		s.Flags |= SQEIOLink
		s.UserData = 1
		s = sqe(t, r)
		s.PrepFsync(fd, FsyncDatasync)
		s.UserData = 2
		if _, err := r.Submit(); err != nil {
			t.Fatal(err)
		}
		res := map[uint64]int32{}
		for _, c := range collect(t, r, 2) {
			res[c.UserData] = c.Res
		}
		if res[1] != 4096 || res[2] != 0 {
			t.Fatalf("linked write+fsync: %v", res)
		}
		back := alignedBuf(t, 4096)
		if _, err := f.ReadAt(back, 0); err != nil || !bytes.Equal(back, buf) {
			t.Fatalf("data after linked write: %v", err)
		}
		// A head that fails (fd -1) cancels its linked successor.
		s = sqe(t, r)
		s.PrepWrite(-1, buf, 0, 0)
		s.Flags |= SQEIOLink
		s.UserData = 3
		s = sqe(t, r)
		s.PrepFsync(fd, 0)
		s.UserData = 4
		if _, err := r.Submit(); err != nil {
			t.Fatal(err)
		}
		res = map[uint64]int32{}
		for _, c := range collect(t, r, 2) {
			res[c.UserData] = c.Res
		}
		if res[3] != -int32(unix.EBADF) || res[4] != -int32(unix.ECANCELED) {
			t.Fatalf("failed link head: %v, want 3: -EBADF, 4: -ECANCELED", res)
		}
	})
}

// TestDrainWaitsForEarlierRequests: an IO_DRAIN entry starts only after
// every earlier one has completed, so a drained NOP queued behind a 30 ms
// timeout completes after it.
func TestDrainWaitsForEarlierRequests(t *testing.T) {
	r := newTestRing(t, Config{Entries: 8})
	s := sqe(t, r)
	r.PrepTimeout(s, 30*time.Millisecond, 0, 0)
	s.UserData = 1
	s = sqe(t, r)
	s.PrepNop()
	s.Flags |= SQEIODrain
	s.UserData = 2
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	order := collect(t, r, 2)
	if order[0].UserData != 1 || order[1].UserData != 2 {
		t.Fatalf("completion order %d, %d: the drained NOP overtook the timeout", order[0].UserData, order[1].UserData)
	}
}

// TestPollEventfdMultishot is how a sleeping ring owner gets woken by other
// goroutines: a multishot POLL_ADD on an eventfd posts a CQE (with
// CQEFMore: it stays armed) for each write to the eventfd.
func TestPollEventfdMultishot(t *testing.T) {
	r := newTestRing(t, Config{Entries: 8, SingleIssuer: true, DeferTaskrun: true})
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(efd)
	s := sqe(t, r)
	s.PrepPollAdd(int32(efd), unix.POLLIN, true)
	s.UserData = 42
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	one := []byte{1, 0, 0, 0, 0, 0, 0, 0}
	var drain [8]byte
	for i := range 3 {
		go unix.Write(efd, one) // another goroutine wakes the owner
		c := waitOne(t, r)
		if c.UserData != 42 || c.Res&unix.POLLIN == 0 || c.Flags&CQEFMore == 0 {
			t.Fatalf("wake-up %d: %+v, want POLLIN with CQEFMore", i, c)
		}
		if _, err := unix.Read(efd, drain[:]); err != nil {
			t.Fatalf("drain eventfd: %v", err)
		}
	}
}

// TestSQPoll runs the basic I/O path with a kernel thread polling the SQ.
func TestSQPoll(t *testing.T) {
	r := newTestRing(t, Config{Entries: 16, SQPoll: true, SQPollIdle: 10 * time.Millisecond})
	if r.SetupFlags()&SetupSQPoll == 0 {
		t.Fatalf("SQPOLL not in force: flags %#x", r.SetupFlags())
	}
	_, fd := directFile(t)
	buf := alignedBuf(t, 4096)
	fillRandom(buf, 11)
	// Let the poller go idle, so that Submit must wake it.
	time.Sleep(30 * time.Millisecond)
	s := sqe(t, r)
	s.PrepWrite(fd, buf, 0, 0)
	if c := waitOne(t, r); c.Res != 4096 {
		t.Fatalf("write under SQPOLL: res %d", c.Res)
	}
	back := alignedBuf(t, 4096)
	s = sqe(t, r)
	s.PrepRead(fd, back, 0, 0)
	if c := waitOne(t, r); c.Res != 4096 || !bytes.Equal(back, buf) {
		t.Fatalf("read under SQPOLL: res %d, equal %v", c.Res, bytes.Equal(back, buf))
	}
}

// TestPrepResetsTheEntry: preparing an entry again (a write turned into an
// fsync) leaves no operand of the first preparation behind; an fsync with
// a buffer address would fail with EINVAL.
func TestPrepResetsTheEntry(t *testing.T) {
	r := newTestRing(t, Config{Entries: 4})
	_, fd := directFile(t)
	buf := alignedBuf(t, 4096)
	s := sqe(t, r)
	s.PrepWrite(fd, buf, 8192, RWFNoWait)
	s.Flags |= SQEIOLink
	s.PrepFsync(fd, FsyncDatasync)
	if *s != (SQE{Opcode: OpFsync, Fd: fd, OpFlags: FsyncDatasync}) {
		t.Fatalf("entry after PrepFsync: %+v", *s)
	}
	if c := waitOne(t, r); c.Res != 0 {
		t.Fatalf("fsync prepared over a write: res %d", c.Res)
	}
}
