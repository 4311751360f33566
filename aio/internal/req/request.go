package req

import (
	"time"

	"github.com/nowaitio/nowait/aio/internal/inode"
	"github.com/nowaitio/nowait/aio/internal/queue"
	"github.com/nowaitio/nowait/aio/internal/stats"
)

// Op is what a request asks for (aio.Op is this type).
type Op uint8

const (
	OpRead      Op = iota + 1 // read len(Buf) bytes at Offset
	OpWrite                   // write Buf at Offset
	OpFsync                   // data and exact logical size durable (File.Sync)
	OpFdatasync               // data durable (File.SyncData)
	// OpAllocate preallocates [Offset, Offset+Length) (Length 0: len(Buf);
	// Buf is not touched), growing the file if that lies past its end, as
	// File.Allocate does: the new range reads as zeros, and later writes
	// into it are overwrites.
	OpAllocate
)

// opSpec is one row of the op table: what the rest of the runtime needs to
// know of an op, in one place. Adding an op is adding its row, its router
// case and its executor functions. The table is immutable.
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

const (
	// FlagBarrier on an fsync or fdatasync orders it after every write to
	// the same file submitted before it has completed (per file, not a
	// ring-wide drain).
	FlagBarrier Flag = 1 << iota
	// FlagDSync makes a write durable when it completes (RWF_DSYNC).
	FlagDSync
)

// Sink is where a request comes from and goes back to: its Context.
type Sink interface {
	// Deliver queues a finished request for its owner, without waking it.
	Deliver(r *Request)
	// Wake wakes the owner if it waits (for a delivery, or for work its
	// ring's driver must do).
	Wake()
	// Resume sends a request a barrier held back on its way again, as
	// Submit would have; it never waits.
	Resume(r *Request)
}

// Request is one submitted IOCB inside the runtime.
//
// Ownership moves with the request: the submitting goroutine fills it,
// then exactly one of {a ring (its placer, then its completer), a worker,
// a barrier's queue} owns it until Finish, after which its Sink owns it
// again.
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

	// Ring state, owned by the ring engine while kernel requests are in
	// flight.
	Pending int32 // kernel requests in flight
	Want    int64 // bytes a read expects (clipped at the logical size)
	EAgain  bool  // some kernel request came back with EAGAIN
	Refused bool  // some kernel request was taken back unsubmitted: the ring cannot be driven
	Failed  error // first error a kernel request reported
	Locked  bool  // holds a shared range lock of [Off, End())

	// Result, set by Finish.
	N   int
	Err error
}

// Init binds a slot's request to its sink, once, when the slot is made.
func (r *Request) Init(s Sink, slot int32) {
	r.Node.Owner = r
	r.Sink, r.Slot = s, slot
}

// End is the offset just past the request's range.
func (r *Request) End() int64 { return r.Off + int64(len(r.Buf)) }

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

// Finish completes r with its result and hands it back to its Sink, whom
// it wakes.
func Finish(r *Request, n int, err error) {
	Settle(r, n, err)
	s := r.Sink // once delivered, r is its sink's
	s.Deliver(r)
	s.Wake()
}

// Settle records a finished request's result and counts it, without
// delivering it. It is the last thing done with a request before it goes
// back to its Sink: the file's barriers see the write done, and the
// File's count of requests in flight drops.
func Settle(r *Request, n int, err error) {
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
