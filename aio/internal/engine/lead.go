package engine

import "github.com/nowaitio/nowait/aio/internal/req"

// Shared rings: the blocking File methods' callers take turns driving.
// Whoever holds the lead drives the ring (Drive: submit and wait in one
// io_uring_enter, reap, hand every completion to its caller); the others
// park on their own channel until their completion or the lead comes to
// them. At most one thread per ring waits in the kernel, so a burst of
// callers does not put more threads to sleep there than there are rings,
// each holding its P (the runtime lends a P away from a thread asleep in
// a system call only after its monitor notices).

// Followers is how many callers are parked on x.
func (x *Ring) Followers() int32 { return x.nfollow.Load() }

// Leading reports whether a caller leads x.
func (x *Ring) Leading() bool { return x.leader.Load() }

// TryLead takes the lead of x if no one holds it.
func (x *Ring) TryLead() bool { return x.leader.CompareAndSwap(false, true) }

// Unlead gives the lead up, and hands it on if the ring has work left.
func (x *Ring) Unlead() {
	x.leader.Store(false)
	x.HandOff()
}

// Follow parks the caller (sink s; park returns when s is woken) while
// another caller leads x and ready says the caller's wait is not over.
// It returns at once when no one leads: the caller then tries to lead.
// The check comes after s is registered, and Unlead's after the lead is
// let go, so a parked follower is always seen by the leader that leaves.
func (x *Ring) Follow(s req.Sink, ready func() bool, park func()) {
	x.followMu.Lock()
	x.followers = append(x.followers, s)
	x.nfollow.Add(1)
	x.followMu.Unlock()
	if x.leader.Load() && !ready() {
		park()
	}
	x.followMu.Lock()
	for i, f := range x.followers {
		if f == s {
			x.followers = append(x.followers[:i], x.followers[i+1:]...)
			x.nfollow.Add(-1)
			break
		}
	}
	x.followMu.Unlock()
}

// HandOff wakes a parked follower to lead, when no one leads and the ring
// has work for a driver. A caller that leaves the ring calls it.
func (x *Ring) HandOff() {
	if x.leader.Load() || !x.Busy() {
		return
	}
	x.followMu.Lock()
	var s req.Sink
	if len(x.followers) > 0 {
		s = x.followers[0]
	}
	x.followMu.Unlock()
	if s != nil {
		s.Wake()
	}
}
