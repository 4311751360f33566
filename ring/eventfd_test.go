package ring

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestEventfdSignalsDeferredCompletion checks what a sleeper outside
// io_uring_enter relies on, with DEFER_TASKRUN: a completion signals the
// registered eventfd before anyone enters the ring, CompletionsPending sees
// it, and Reap posts it; with the signals turned off, a completion leaves
// the eventfd quiet but is still seen by CompletionsPending.
func TestEventfdSignalsDeferredCompletion(t *testing.T) {
	r := newTestRing(t, Config{Entries: 8, SingleIssuer: true, DeferTaskrun: true})
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(efd)
	if err := r.RegisterEventfd(efd); err != nil {
		t.Fatal(err)
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	buf := alignedBuf(t, 4096)[:8] // the kernel writes it after Submit returns
	cqes := make([]CQE, 4)

	// readPipe queues a read of the pipe, which waits for data in the
	// kernel, then feeds the pipe from another thread.
	readPipe := func(tag uint64) {
		t.Helper()
		sqe := r.NextSQE()
		sqe.PrepRead(int32(p[0]), buf, 0, 0)
		sqe.UserData = tag
		if _, err := r.Submit(); err != nil {
			t.Fatal(err)
		}
		if r.CompletionsPending() {
			t.Fatal("a read of an empty pipe completed at once")
		}
		go unix.Write(p[1], []byte("x"))
	}

	readPipe(1)
	if !readable(t, efd, 5*time.Second) {
		t.Fatal("the eventfd was not signalled for a deferred completion")
	}
	if !r.CompletionsPending() {
		t.Fatal("eventfd signalled but CompletionsPending is false")
	}
	if n := r.Reap(cqes); n != 1 || cqes[0].UserData != 1 || cqes[0].Res != 1 {
		t.Fatalf("Reap = %d, %+v; want the pipe read of 1 byte", n, cqes[0])
	}
	var cnt [8]byte
	unix.Read(efd, cnt[:])

	r.SetEventfdNotify(false)
	readPipe(2)
	deadline := time.Now().Add(5 * time.Second)
	for !r.CompletionsPending() {
		if time.Now().After(deadline) {
			t.Fatal("the second pipe read never completed")
		}
		time.Sleep(time.Millisecond)
	}
	if readable(t, efd, 0) {
		t.Fatal("the eventfd was signalled while its signals were off")
	}
	r.SetEventfdNotify(true)
	if n := r.Reap(cqes); n != 1 || cqes[0].UserData != 2 {
		t.Fatalf("Reap = %d, %+v; want the second pipe read", n, cqes[0])
	}
	if err := r.UnregisterEventfd(); err != nil {
		t.Fatal(err)
	}
}

func readable(t *testing.T, fd int, timeout time.Duration) bool {
	t.Helper()
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(pfd, int(timeout/time.Millisecond))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
}

// TestDeferredWorkStaysPending checks what a sleeper outside io_uring_enter
// also relies on: the kernel posts deferred completions in rounds (20 per
// enter on 6.18), and while some are left, CompletionsPending stays true,
// so the owner reaps again instead of sleeping on work that no later
// completion would signal.
func TestDeferredWorkStaysPending(t *testing.T) {
	r := newTestRing(t, Config{Entries: 64, SingleIssuer: true, DeferTaskrun: true})
	const n = 50
	buf := alignedBuf(t, 4096) // the kernel writes it after Submit returns
	var pipes [n][2]int
	for i := range n {
		if err := unix.Pipe2(pipes[i][:], unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		defer unix.Close(pipes[i][0])
		defer unix.Close(pipes[i][1])
		sqe := r.NextSQE()
		sqe.PrepRead(int32(pipes[i][0]), buf[i:i+1], 0, 0)
		sqe.UserData = uint64(i)
	}
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		unix.Write(pipes[i][1], []byte("x"))
	}
	cqes := make([]CQE, 2*n)
	got, rounds := 0, 0
	deadline := time.Now().Add(5 * time.Second)
	for got < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d completions after 5 s", got, n)
		}
		if !r.CompletionsPending() {
			time.Sleep(time.Millisecond) // the pipe reads may still be on their way
			continue
		}
		k := r.Reap(cqes)
		got += k
		rounds++
	}
	if r.CompletionsPending() {
		t.Fatal("CompletionsPending with every completion reaped")
	}
	t.Logf("%d completions in %d reaps", n, rounds)
}
