package engine

import (
	"slices"

	"github.com/nowaitio/nowait/aio/internal/req"
)

// Shared rings: the blocking callers take turns. The leader drives the
// ring; the others park on their own channel until their completion or
// the lead comes to them. At most one thread per ring sleeps in the
// kernel (each keeps its P until the runtime's monitor notices).

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

// Follow parks the caller (sink s, by park) while another leads x and
// ready is false; with no leader it returns, for the caller to lead. It
// registers s before it looks, and Unlead lets go before it looks: a
// parked follower is always seen by the leader that leaves.
func (x *Ring) Follow(s req.Sink, ready func() bool, park func()) {
	x.followMu.Lock()
	x.followers = append(x.followers, s)
	x.nfollow.Add(1)
	x.followMu.Unlock()
	if x.leader.Load() && !ready() {
		park()
	}
	x.followMu.Lock()
	if i := slices.Index(x.followers, s); i >= 0 {
		x.followers = slices.Delete(x.followers, i, i+1)
		x.nfollow.Add(-1)
	}
	x.followMu.Unlock()
}

// HandOff wakes a follower to lead, when no one leads a busy ring.
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
