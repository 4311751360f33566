package ring

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Ring is one io_uring instance.
//
// Owner: one goroutine at a time, the ring's issuer; with
// Config.SingleIssuer that goroutine must also be locked to its OS thread
// (runtime.LockOSThread) from before New until after Close, because the
// kernel binds the ring to the thread that created it. A ring made
// without SingleIssuer may instead be split three ways (split ownership):
// a producer places SQEs (NextSQE, SQSpace, SQPending, Publish,
// Unsubmit), a reaper takes CQEs (Reap), and any goroutine may call Enter
// (and the read-only Unconsumed, CQReady, CompletionsPending) beside
// them, since Enter touches neither side's state; each side is one
// goroutine at a time, which its user guarantees. Close excludes all.
type Ring struct {
	fd         int
	setupFlags uint32 // the IORING_SETUP_* flags the kernel accepted
	features   uint32 // IORING_FEAT_* reported by the kernel

	sq submissionQueue
	cq completionQueue

	sqRingMem []byte // mmap of the SQ ring (and the CQ ring with FEAT_SINGLE_MMAP)
	cqRingMem []byte // mmap of the CQ ring; aliases sqRingMem when single
	sqeMem    []byte // mmap of the SQE array

	// timespecs holds one timeout per SQE slot. The kernel reads it while
	// it consumes that SQE, before the slot can be reused, so it needs no
	// other lifetime management; and it is heap memory, which does not move
	// like a goroutine stack can.
	timespecs []Timespec
	// waitTs and waitArg are the argument of a timed wait (IORING_ENTER_EXT_ARG).
	waitTs  Timespec
	waitArg getEventsArg

	// enterFault, when set, is asked before every io_uring_enter and may
	// answer with an errno in the kernel's place (fault injection).
	enterFault func() unix.Errno
	// cqeFault, when set, sees every CQE as it is reaped and may rewrite
	// its result (fault injection).
	cqeFault func(c *CQE)

	closed bool
}

// submissionQueue is the SQ ring. The application writes tail (a release
// store publishes the SQEs below it); the kernel writes head as it consumes
// entries. sqeTail runs ahead of *tail: SQEs handed out by NextSQE but not
// yet published by flush.
type submissionQueue struct {
	head    *uint32 // kernel-written; read with atomic loads
	tail    *uint32 // owner-written; published with atomic stores
	flags   *uint32 // kernel-written: NEED_WAKEUP, CQ_OVERFLOW, TASKRUN
	dropped *uint32 // kernel-written: SQEs with an invalid index
	mask    uint32
	entries uint32
	sqes    []SQE
	sqeTail uint32 // owner-only: next SQE to hand out
}

// completionQueue is the CQ ring. The kernel writes tail as it posts CQEs;
// the application writes head (a release store) when it has copied them.
type completionQueue struct {
	head     *uint32 // owner-written; published with atomic stores
	tail     *uint32 // kernel-written; read with atomic loads
	overflow *uint32 // kernel-written: CQEs dropped (only without FEAT_NODROP)
	flags    *uint32 // owner-written: EVENTFD_DISABLED
	mask     uint32
	entries  uint32
	cqes     []CQE
}

func u32At(mem []byte, off uint32) *uint32 {
	return (*uint32)(unsafe.Pointer(&mem[off]))
}

func (q *submissionQueue) init(ringMem, sqeMem []byte, p *params) {
	o := &p.SqOff
	q.head = u32At(ringMem, o.Head)
	q.tail = u32At(ringMem, o.Tail)
	q.flags = u32At(ringMem, o.Flags)
	q.dropped = u32At(ringMem, o.Dropped)
	q.mask = *u32At(ringMem, o.RingMask)
	q.entries = *u32At(ringMem, o.RingEntries)
	q.sqes = unsafe.Slice((*SQE)(unsafe.Pointer(&sqeMem[0])), p.SqEntries)
	// The indirection array maps ring slots to SQEs. An identity map, set
	// once, lets every later submission skip it.
	array := unsafe.Slice(u32At(ringMem, o.Array), p.SqEntries)
	for i := range array {
		array[i] = uint32(i)
	}
	q.sqeTail = atomic.LoadUint32(q.tail)
}

func (q *completionQueue) init(ringMem []byte, p *params) {
	o := &p.CqOff
	q.head = u32At(ringMem, o.Head)
	q.tail = u32At(ringMem, o.Tail)
	q.overflow = u32At(ringMem, o.Overflow)
	q.flags = u32At(ringMem, o.Flags)
	q.mask = *u32At(ringMem, o.RingMask)
	q.entries = *u32At(ringMem, o.RingEntries)
	q.cqes = unsafe.Slice((*CQE)(unsafe.Pointer(&ringMem[o.Cqes])), p.CqEntries)
}

// Fd is the ring's file descriptor.
func (r *Ring) Fd() int { return r.fd }

// SetupFlags are the IORING_SETUP_* flags in force (after any fallback).
func (r *Ring) SetupFlags() uint32 { return r.setupFlags }

// Features are the IORING_FEAT_* flags the kernel reported.
func (r *Ring) Features() uint32 { return r.features }

// SQEntries and CQEntries are the sizes the kernel chose.
func (r *Ring) SQEntries() uint32 { return r.sq.entries }
func (r *Ring) CQEntries() uint32 { return r.cq.entries }

// Closed reports whether Close has been called.
func (r *Ring) Closed() bool { return r.closed }

// InjectEnterFaults makes every io_uring_enter first ask f: a non-zero
// errno is returned as if the kernel had answered it, and the call is not
// made (EINTR is retried like a real one). nil removes the injector. For
// fault-injection tests on top of the real kernel; the owner goroutine
// calls it.
func (r *Ring) InjectEnterFaults(f func() unix.Errno) { r.enterFault = f }

// InjectCQEFaults makes Reap pass every completion through f, which may
// rewrite its result (an error, a short transfer) before the owner sees
// it. nil removes the injector. For fault-injection tests on top of the
// real kernel; the owner goroutine calls it.
func (r *Ring) InjectCQEFaults(f func(c *CQE)) { r.cqeFault = f }
