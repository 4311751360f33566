// Package stats holds a Runtime's live counters: atomics that every
// layer adds to (the router, the ring engine, the workers, the per-inode
// state) and that aio.Runtime.Stats copies out.
package stats

import "sync/atomic"

// Counters is what the runtime did, by path. Owner: everyone; atomics
// only.
type Counters struct {
	FastReads, FastWrites     atomic.Uint64 // done on a ring with RWF_NOWAIT
	SlowReads, SlowWrites     atomic.Uint64 // done by a worker
	KernelEAGAIN, RingRefused atomic.Uint64
	CallerDriven              atomic.Uint64 // placed on a ring
	HelperEnters              atomic.Uint64 // io_uring_enter calls the helper made for SQEs no driver had submitted
	HelperReaps               atomic.Uint64 // passes in which the helper reaped a ring no one was reaping
	ZeroFilled, RMW, Bounces  atomic.Uint64
	PaddedWrites              atomic.Uint64 // writes whose last unit went to a ring zero-padded
	Extensions, ZeroedAhead   atomic.Uint64
	CutBacks, Syncs           atomic.Uint64
	Allocations               atomic.Uint64
	BytesRead, BytesWritten   atomic.Uint64
	InFlight, BufferedFiles   atomic.Int64

	// Why writes took the slow path.
	SlowUnaligned, SlowExtend, SlowAllocate atomic.Uint64
	SlowSubBlock, SlowLockBusy, SlowOther   atomic.Uint64
}
