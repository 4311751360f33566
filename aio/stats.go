package aio

import "github.com/nowaitio/nowait/aio/internal/stats"

// Stats counts what the runtime did, by path: a snapshot (Runtime.Stats),
// the caller's copy.
type Stats struct {
	Backend string // "io_uring" or "syscall"
	// BackendReason says why the syscall backend is in use when io_uring
	// was asked for by BackendAuto (the kernel's answer, named).
	BackendReason string
	Shards        int // rings the blocking File methods share (Config.Shards)

	FastReads, FastWrites uint64 // sent to a ring with RWF_NOWAIT and done there
	SlowReads, SlowWrites uint64 // done by a worker
	KernelEAGAIN          uint64 // fast I/Os the kernel refused (EAGAIN), then retried by a worker
	RingRefused           uint64 // requests a ring could no longer take (io_uring_enter failing for good), done by a worker
	// CallerDriven counts requests placed on a ring.
	CallerDriven uint64
	// HelperEnters: the helper's io_uring_enter calls for SQEs no driver
	// submitted; HelperReaps: its passes that reaped a ring no one reaped.
	HelperEnters, HelperReaps uint64
	// Deprecated: always 0; every blocking call uses the per-P rings.
	Overflowed      uint64
	ZeroFilledReads uint64 // reads (or parts) answered with zeros, no device I/O
	RMW             uint64 // edge units read (or zero-filled), merged and rewritten
	// PaddedWrites: writes whose last unit, with no data past them, went
	// to a ring as a zero-padded copy (no worker, no read).
	PaddedWrites  uint64
	Bounces       uint64 // I/Os copied through an aligned bounce buffer
	Extensions    uint64 // append-ahead steps (fallocate ahead of appends)
	ZeroedAhead   uint64 // bytes of append-ahead written with zeros (a file synced with SyncData)
	CutBacks      uint64 // Sync/Close cutting the append-ahead tail back to the logical size
	Syncs         uint64
	Allocations   uint64 // OpAllocate requests done
	BytesRead     uint64
	BytesWritten  uint64
	InFlight      int64 // requests submitted and not yet completed
	BufferedFiles int64 // open files on which O_DIRECT was refused (tmpfs): page-cache I/O
	// Deprecated: always 0 (no file is registered in a ring).
	FixedFiles int64

	// Why writes took the slow path.
	SlowUnaligned, SlowExtend, SlowAllocate, SlowSubBlock, SlowLockBusy, SlowOther uint64
}

func snapshot(c *stats.Counters) Stats {
	return Stats{
		FastReads: c.FastReads.Load(), FastWrites: c.FastWrites.Load(),
		SlowReads: c.SlowReads.Load(), SlowWrites: c.SlowWrites.Load(),
		KernelEAGAIN: c.KernelEAGAIN.Load(), RingRefused: c.RingRefused.Load(),
		CallerDriven: c.CallerDriven.Load(),
		HelperEnters: c.HelperEnters.Load(), HelperReaps: c.HelperReaps.Load(),
		ZeroFilledReads: c.ZeroFilled.Load(), RMW: c.RMW.Load(), PaddedWrites: c.PaddedWrites.Load(), Bounces: c.Bounces.Load(),
		Extensions: c.Extensions.Load(), ZeroedAhead: c.ZeroedAhead.Load(),
		CutBacks: c.CutBacks.Load(), Syncs: c.Syncs.Load(), Allocations: c.Allocations.Load(),
		BytesRead: c.BytesRead.Load(), BytesWritten: c.BytesWritten.Load(),
		InFlight: c.InFlight.Load(), BufferedFiles: c.BufferedFiles.Load(),
		SlowUnaligned: c.SlowUnaligned.Load(), SlowExtend: c.SlowExtend.Load(),
		SlowAllocate: c.SlowAllocate.Load(), SlowSubBlock: c.SlowSubBlock.Load(),
		SlowLockBusy: c.SlowLockBusy.Load(), SlowOther: c.SlowOther.Load(),
	}
}
