package req

import (
	"fmt"
	"time"

	"github.com/nowaitio/nowait/aio/internal/inode"
	"github.com/nowaitio/nowait/aio/internal/queue"
	"github.com/nowaitio/nowait/aio/internal/stats"
)

// Op is what a request asks for (aio.Op is this type).
type Op uint8

// The ops (aio documents them).
const (
	OpRead Op = iota + 1
	OpWrite
	OpFsync
	OpFdatasync
	OpAllocate
)

// opSpec is one row of the op table: what the runtime needs to know of an
// op. Adding an op is adding its row, its router case and its executors.
type opSpec struct {
	name     string
	modifies bool // needs a handle opened for writing; counted by barriers as a write
	sync     bool // FlagBarrier orders it after earlier modifications
}

var opTable = [...]opSpec{
	OpRead:      {name: "read"},
	OpWrite:     {name: "write", modifies: true},
	OpFsync:     {name: "fsync", sync: true},
	OpFdatasync: {name: "fdatasync", sync: true},
	OpAllocate:  {name: "allocate", modifies: true},
}

// Valid reports whether o is an op.
func (o Op) Valid() bool { return o >= OpRead && int(o) < len(opTable) }

func (o Op) spec() opSpec {
	if !o.Valid() {
		return opSpec{name: "unknown-op"}
	}
	return opTable[o]
}

func (o Op) String() string { return o.spec().name }

// Modifies reports whether o changes the file (a write, an allocation).
func (o Op) Modifies() bool { return o.spec().modifies }

// IsSync reports whether o is an fsync or fdatasync.
func (o Op) IsSync() bool { return o.spec().sync }

// Flag modifies a request (aio.Flag is this type).
type Flag uint8

// The flags (aio documents them).
const (
	FlagBarrier Flag = 1 << iota
	FlagDSync
)

// Sink is where a request comes from and goes back to, its Context:
// Deliver queues a finished request without waking the owner, Wake wakes
// it if it waits, Resume sends on a request a barrier held (never
// waiting).
type Sink interface {
	Deliver(r *Request)
	Wake()
	Resume(r *Request)
}

// Request is one submitted IOCB inside the runtime. Owner: the
// submitting goroutine fills it, then one of {a ring (placer, then
// completer), a worker, a barrier's queue} owns it until Finish, then
// its Sink again.
type Request struct {
	queue.Node // in one queue at a time: a barrier's, a ring's deferred, the workers'

	Sink  Sink
	Slot  int32           // index in the Sink's slot table
	Ino   *inode.Inode    // the file's state
	Name  string          // the file's name, for errors
	File  *Lifetime       // the File's count of requests in flight, given back by Settle
	Stats *stats.Counters // the runtime's counters
	Op    Op
	Off   int64
	Buf   []byte
	Flags Flag
	Span  int64 // OpAllocate: the bytes to allocate from Off

	// Ring state, while kernel requests are in flight.
	Pending int32 // kernel requests in flight
	Want    int64 // bytes a read expects (clipped at the logical size)
	EAgain  bool  // some kernel request came back with EAGAIN
	Refused bool  // some kernel request was taken back unsubmitted: the ring cannot be driven
	Failed  error // first error a kernel request reported
	Locked  bool  // holds a shared range lock of [Off, WriteEnd())
	// PadEnd: a write whose last unit goes to the kernel zero-padded ends
	// there on the file (0: not padded).
	PadEnd int64

	// Result, set by Finish.
	N   int
	Err error

	settled bool // with -tags nowait_invariants: Settle ran (Reset clears it)
}

// Init binds a slot's request to its sink, once, when the slot is made.
func (r *Request) Init(s Sink, slot int32) {
	r.Node.Owner = r
	r.Sink, r.Slot = s, slot
}

// End is the offset just past the request's range.
func (r *Request) End() int64 { return r.Off + int64(len(r.Buf)) }

// WriteEnd is where a write's kernel requests end: End, or PadEnd for a
// padded write.
func (r *Request) WriteEnd() int64 {
	if r.PadEnd > 0 {
		return r.PadEnd
	}
	return r.End()
}

// Reset clears the request for reuse by its Sink, keeping the binding.
func (r *Request) Reset() {
	s, slot := r.Sink, r.Slot
	*r = Request{}
	r.Init(s, slot)
}

// QueueNode is the request's link (inode.Waiter).
func (r *Request) QueueNode() *queue.Node { return &r.Node }

// Resume sends the request on after a barrier held it (inode.Waiter).
func (r *Request) Resume() { r.Sink.Resume(r) }

// Finish settles r and hands it back to its Sink, whom it wakes.
func Finish(r *Request, n int, err error) {
	Settle(r, n, err)
	s := r.Sink // once delivered, r is its sink's
	s.Deliver(r)
	s.Wake()
}

// Settle records and counts a finished request's result, without
// delivering it: barriers see the write done, the File's count drops.
func Settle(r *Request, n int, err error) {
	if invariantsOn {
		if r.settled {
			panic(fmt.Sprintf("aio: invariant broken: request %s at %d of %s settled twice", r.Op, r.Off, r.Name))
		}
		r.settled = true
	}
	r.N, r.Err = n, err
	c := r.Stats
	switch r.Op {
	case OpRead:
		c.BytesRead.Add(uint64(max(n, 0)))
	case OpWrite:
		c.BytesWritten.Add(uint64(max(n, 0)))
		r.Ino.Barriers.WriteDone()
	case OpFsync, OpFdatasync:
		c.Syncs.Add(1)
		if r.Op == OpFdatasync && err == nil {
			r.Ino.LastSyncData.Store(time.Now().UnixNano())
		}
	case OpAllocate:
		c.Allocations.Add(1)
		r.Ino.Barriers.WriteDone()
	}
	c.InFlight.Add(-1)
	r.File.Release()
}
