package engine

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/aio/internal/queue"
	"github.com/nowaitio/nowait/aio/internal/req"
	"github.com/nowaitio/nowait/aio/internal/stats"
	"github.com/nowaitio/nowait/bio"
	"github.com/nowaitio/nowait/iomap"
	"github.com/nowaitio/nowait/ring"
)

// Env is what a Ring needs of its runtime. Immutable.
type Env struct {
	Stats *stats.Counters
	Pool  *bio.Pool
	// ToWorker queues for the slow path without waking a worker;
	// FlushWorkers (drivers, the helper) wakes one.
	ToWorker     func(r *req.Request)
	FlushWorkers func()
}

// Ring is one io_uring instance and what drives it. Owner: shared. The
// placer side (plan, builder, it, the SQ, popping deferred) is sqMu's
// holder's, the completer side (cqes, wakes, the CQ, completing slots)
// cqMu's; slots pass between them one by one (free, each slot's armed
// flag). sqMu is taken first. Anyone may enter the kernel while the ring
// is open (ring.Ring's split ownership).
type Ring struct {
	k   *ring.Ring
	env *Env

	sqMu      sync.Mutex
	builder   bio.Builder
	plan      []planned
	it        iomap.Iter
	cuts      []int64    // where the write being placed goes from written to unwritten blocks, or back (placeWrite)
	tailAt    int64      // where the last unit of the padded write being placed starts
	deferred  queue.MPSC // requests waiting to be placed; popped under sqMu
	deferredN atomic.Int32

	slots    []bioSlot
	free     *queue.Slots
	inflight atomic.Int64 // kernel requests placed (published or not) and not completed

	cqMu  sync.Mutex
	cqes  []ring.CQE
	wakes []req.Sink
	woke  int // owners woken since the last Drive took the count

	waiting atomic.Int32 // goroutines waiting in io_uring_enter (Kick posts a CQE for them)
	// Shared rings: the lead is the driving caller's; followers are
	// parked until their completion or the lead comes to them.
	leader    atomic.Bool
	followMu  sync.Mutex
	followers []req.Sink
	nfollow   atomic.Int32 // len(followers), read without followMu

	broken  atomic.Bool  // io_uring_enter failed for good: everything goes to the workers
	closed  atomic.Bool  // set under both locks
	kickers atomic.Int32 // Kicks using the descriptor: Close waits for them
}

// wakeTag is the user_data of the CQEs Kick posts.
const wakeTag = ^uint64(0)

// TestHook, set by tests only, runs for every ring made (fault injectors).
var TestHook func(x *Ring)

// NewRing makes a ring for up to slots kernel requests in flight, proven
// by a NOP round trip, and checks that other goroutines can wake a waiter
// in it (IORING_REGISTER_SEND_MSG_RING, Linux 6.13).
func NewRing(env *Env, slots int) (*Ring, error) {
	entries := uint32(min(max(slots, 8), 4096))
	k, err := ring.New(ring.Config{Entries: entries, CQEntries: 2 * entries, CoopTaskrun: true})
	if err != nil {
		return nil, err
	}
	if err := ring.SendMsgRing(k.Fd(), wakeTag, 0); err != nil {
		k.Close()
		errno, _ := err.(unix.Errno)
		return nil, &ring.UnavailableError{Call: "io_uring_register(SEND_MSG_RING)", Errno: errno,
			Cause: "the kernel cannot post a completion into a ring from outside it (IORING_REGISTER_SEND_MSG_RING needs Linux 6.13), which the runtime needs to wake a GetEvents waiting in its ring"}
	}
	var drop [1]ring.CQE
	k.Reap(drop[:])
	n := int(k.SQEntries())
	x := &Ring{k: k, env: env, slots: make([]bioSlot, n), free: queue.NewSlots(n),
		cqes: make([]ring.CQE, min(int(k.CQEntries()), 256))}
	x.deferred.Init()
	if TestHook != nil {
		TestHook(x)
	}
	help.add(x)
	return x, nil
}

// Kernel is the kernel ring (tests inject faults into it).
func (x *Ring) Kernel() *ring.Ring { return x.k }

// RequestOf is the request of the kernel request ud, or nil (tests).
func (x *Ring) RequestOf(ud uint64) *req.Request {
	if ud >= uint64(len(x.slots)) {
		return nil
	}
	return x.slots[ud].req
}

// BioOf is the bio of the kernel request with user_data ud (tests).
func (x *Ring) BioOf(ud uint64) *bio.Bio { return &x.slots[ud].bio }

// Broken reports whether io_uring_enter failed for good on the ring.
func (x *Ring) Broken() bool { return x.broken.Load() }

// Waiting reports whether the ring holds requests the kernel has not
// taken yet (benchmarks: it reads the SQ without a lock).
func (x *Ring) Waiting() bool { return x.deferredN.Load() > 0 || x.k.Unconsumed() > 0 }

// Busy reports whether the ring has work for a driver: kernel requests
// placed and not completed, or requests to place.
func (x *Ring) Busy() bool {
	return x.inflight.Load() > 0 || x.deferredN.Load() > 0
}

// Close closes the kernel ring, whose users have no request left on it
// (a broken ring's requests in the kernel are abandoned).
func (x *Ring) Close() {
	help.remove(x)
	x.sqMu.Lock()
	x.cqMu.Lock()
	if !x.closed.Swap(true) {
		x.waitKickers()
		x.k.Close()
	}
	x.cqMu.Unlock()
	x.sqMu.Unlock()
}
