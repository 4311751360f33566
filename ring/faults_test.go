package ring

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestEnterEINTRIsRetried makes every other io_uring_enter "interrupted":
// callers must never see EINTR, and nothing may be submitted twice.
func TestEnterEINTRIsRetried(t *testing.T) {
	r := newTestRing(t, Config{Entries: 16, SingleIssuer: true, DeferTaskrun: true})
	calls := 0
	r.InjectEnterFaults(func() unix.Errno {
		calls++
		if calls%2 == 1 {
			return unix.EINTR
		}
		return 0
	})
	for i := range 10 {
		s := sqe(t, r)
		s.PrepNop()
		s.UserData = uint64(i)
	}
	if n, err := r.Submit(); err != nil || n != 10 {
		t.Fatalf("Submit under EINTR = %d, %v", n, err)
	}
	seen := map[uint64]int{}
	for _, c := range collect(t, r, 10) {
		seen[c.UserData]++
	}
	if len(seen) != 10 || calls < 2 {
		t.Fatalf("completions %v after %d enter calls", seen, calls)
	}
	var extra [1]CQE
	if r.Reap(extra[:]) != 0 {
		t.Fatal("a NOP completed twice")
	}
}

// TestSubmitAndReapHandlesBusy makes the kernel refuse submission with
// EBUSY and EAGAIN a few times while completions are pending: SubmitAndReap
// must reap to make room, try again, submit every SQE once and lose no CQE.
func TestSubmitAndReapHandlesBusy(t *testing.T) {
	for _, errno := range []unix.Errno{unix.EBUSY, unix.EAGAIN} {
		t.Run(errno.Error(), func(t *testing.T) {
			r := newTestRing(t, Config{Entries: 8, CQEntries: 8})
			// Fill the CQ first, so that there is something to reap.
			for i := range 8 {
				s := sqe(t, r)
				s.PrepNop()
				s.UserData = uint64(i)
			}
			if _, err := r.Submit(); err != nil {
				t.Fatal(err)
			}
			for i := range 8 {
				s := sqe(t, r)
				s.PrepNop()
				s.UserData = uint64(8 + i)
			}
			refusals := 3
			r.InjectEnterFaults(func() unix.Errno {
				// Refuse while the CQ is not drained, like a kernel whose
				// backlog is full, and at most three times.
				if refusals > 0 && r.CQReady() > 0 {
					refusals--
					return errno
				}
				return 0
			})
			dst := make([]CQE, 16)
			reaped, err := r.SubmitAndReap(dst)
			if err != nil {
				t.Fatalf("SubmitAndReap: %v", err)
			}
			if refusals != 2 || reaped != 8 {
				t.Fatalf("refusals left %d, reaped %d: want one refusal and 8 reaped", refusals, reaped)
			}
			if r.SQPending() != 0 {
				t.Fatalf("%d SQEs left unsubmitted", r.SQPending())
			}
			r.InjectEnterFaults(nil)
			all := append(dst[:reaped:reaped], collect(t, r, 8)...)
			seen := make([]int, 16)
			for _, c := range all {
				seen[c.UserData]++
			}
			for i, n := range seen {
				if n != 1 {
					t.Errorf("user_data %d completed %d times", i, n)
				}
			}
		})
	}
}

// TestSubmitAndReapReturnsWhenDstIsFull: a kernel that stays busy and a
// full dst must end in the errno, with the SQEs still queued, not a spin.
func TestSubmitAndReapReturnsWhenDstIsFull(t *testing.T) {
	r := newTestRing(t, Config{Entries: 8})
	s := sqe(t, r)
	s.PrepNop()
	r.InjectEnterFaults(func() unix.Errno { return unix.EBUSY })
	if _, err := r.SubmitAndReap(nil); err != unix.EBUSY {
		t.Fatalf("SubmitAndReap with a busy kernel and no room: %v, want EBUSY", err)
	}
	if r.SQPending() != 1 {
		t.Fatalf("SQPending %d, want the NOP still queued", r.SQPending())
	}
	r.InjectEnterFaults(nil)
	if c := waitOne(t, r); c.Res != 0 {
		t.Fatalf("NOP res %d", c.Res)
	}
}

// TestErrorInBatchDoesNotStopSubmission: an SQE the kernel rejects at
// submission (an unknown opcode) gets its own error CQE, and the rest of
// the batch is still submitted.
func TestErrorInBatchDoesNotStopSubmission(t *testing.T) {
	r := newTestRing(t, Config{Entries: 8})
	for i := range 4 {
		s := sqe(t, r)
		s.PrepNop()
		if i == 1 {
			s.Opcode = 250
		}
		s.UserData = uint64(i)
	}
	if _, err := r.SubmitAndReap(nil); err != nil {
		t.Fatal(err)
	}
	res := map[uint64]int32{}
	for _, c := range collect(t, r, 4) {
		res[c.UserData] = c.Res
	}
	if res[1] != -int32(unix.EINVAL) || res[0] != 0 || res[2] != 0 || res[3] != 0 {
		t.Fatalf("results %v, want -EINVAL for 1 and 0 for the others", res)
	}
}

// TestUnsubmitTakesBackWhatEnterRefused: when io_uring_enter fails for
// good, the SQEs it did not consume are taken back in order, the queue is
// empty, and the ring takes new work once enter works again; nothing taken
// back completes.
func TestUnsubmitTakesBackWhatEnterRefused(t *testing.T) {
	r := newTestRing(t, Config{Entries: 16, SingleIssuer: true, DeferTaskrun: true})
	refuse := true
	r.InjectEnterFaults(func() unix.Errno {
		if refuse {
			return unix.EPERM
		}
		return 0
	})
	for i := range 5 {
		s := sqe(t, r)
		s.PrepNop()
		s.UserData = uint64(100 + i)
	}
	if _, err := r.Submit(); err != unix.EPERM {
		t.Fatalf("Submit with enter refused: %v, want EPERM", err)
	}
	var back []uint64
	n, err := r.Unsubmit(func(ud uint64) { back = append(back, ud) })
	if err != nil || n != 5 || len(back) != 5 || back[0] != 100 || back[4] != 104 {
		t.Fatalf("Unsubmit: %d, %v, took back %v", n, err, back)
	}
	if r.SQPending() != 0 || r.SQSpace() != r.SQEntries() {
		t.Fatalf("after Unsubmit: %d pending, %d space", r.SQPending(), r.SQSpace())
	}
	refuse = false
	s := sqe(t, r)
	s.PrepNop()
	s.UserData = 7
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	got := collect(t, r, 1)
	var extra [4]CQE
	if got[0].UserData != 7 || r.Reap(extra[:]) != 0 {
		t.Fatalf("after Unsubmit the ring completed %v and more: a taken-back SQE ran", got)
	}
}
