package aio

import "sync/atomic"

// Stats counts what the runtime did, by path: a snapshot (Runtime.Stats),
// the caller's copy.
type Stats struct {
	Backend string // "io_uring" or "syscall"
	// BackendReason says why the syscall backend is in use when io_uring
	// was asked for by BackendAuto (the kernel's answer, named).
	BackendReason string
	Shards        int

	FastReads, FastWrites uint64 // sent to the ring with RWF_NOWAIT and done there
	SlowReads, SlowWrites uint64 // done by a worker
	KernelEAGAIN          uint64 // fast I/Os the kernel refused (EAGAIN), then retried by a worker
	RingRefused           uint64 // requests a ring could no longer take (io_uring_enter failing for good), done by a worker
	CallerDriven          uint64 // requests of File's blocking methods placed on a ring their own goroutine drove
	Overflowed            uint64 // requests of File's blocking methods past GOMAXPROCS at once, submitted by their goroutine to the overflow ring
	ZeroFilledReads       uint64 // reads (or parts) answered with zeros, no device I/O
	RMW                   uint64 // edge units read (or zero-filled), merged and rewritten
	Bounces               uint64 // I/Os copied through an aligned bounce buffer
	Extensions            uint64 // append-ahead steps (fallocate ahead of appends)
	ZeroedAhead           uint64 // bytes of append-ahead written with zeros (a file synced with SyncData: zeroAheadLocked)
	CutBacks              uint64 // Sync/Close cutting the append-ahead tail back to the logical size
	Syncs                 uint64
	Allocations           uint64 // OpAllocate requests done
	BytesRead             uint64
	BytesWritten          uint64
	InFlight              int64 // requests submitted and not yet completed
	BufferedFiles         int64 // open files on which O_DIRECT was refused (tmpfs): page-cache I/O
	FixedFiles            int64 // open files the rings name by a registered slot (Config.FixedFiles); a file's handles share one

	// Why writes took the slow path.
	SlowUnaligned, SlowExtend, SlowAllocate, SlowSubBlock, SlowLockBusy, SlowOther uint64
}

// counters is the live form of Stats. Owner: everyone; atomics only.
type counters struct {
	fastReads, fastWrites, slowReads, slowWrites, kernelEAGAIN atomic.Uint64
	zeroFilled, rmw, bounces, extensions, cutBacks, syncs      atomic.Uint64
	allocations, ringRefused, callerDriven, zeroedAhead        atomic.Uint64
	overflowed                                                 atomic.Uint64
	bytesRead, bytesWritten                                    atomic.Uint64
	inFlight, bufferedFiles, fixedFiles                        atomic.Int64
	slowUnaligned, slowExtend, slowAllocate, slowSubBlock      atomic.Uint64
	slowLockBusy, slowOther                                    atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		FastReads: c.fastReads.Load(), FastWrites: c.fastWrites.Load(),
		SlowReads: c.slowReads.Load(), SlowWrites: c.slowWrites.Load(),
		KernelEAGAIN: c.kernelEAGAIN.Load(), ZeroFilledReads: c.zeroFilled.Load(),
		RMW: c.rmw.Load(), Bounces: c.bounces.Load(), Extensions: c.extensions.Load(),
		CutBacks: c.cutBacks.Load(), Syncs: c.syncs.Load(), Allocations: c.allocations.Load(), RingRefused: c.ringRefused.Load(), CallerDriven: c.callerDriven.Load(), Overflowed: c.overflowed.Load(),
		BytesRead: c.bytesRead.Load(), BytesWritten: c.bytesWritten.Load(),
		InFlight: c.inFlight.Load(), BufferedFiles: c.bufferedFiles.Load(),
		FixedFiles: c.fixedFiles.Load(), ZeroedAhead: c.zeroedAhead.Load(),
		SlowUnaligned: c.slowUnaligned.Load(), SlowExtend: c.slowExtend.Load(),
		SlowAllocate: c.slowAllocate.Load(), SlowSubBlock: c.slowSubBlock.Load(),
		SlowLockBusy: c.slowLockBusy.Load(), SlowOther: c.slowOther.Load(),
	}
}
