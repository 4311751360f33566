// Package bio turns mapped byte ranges into kernel requests.
//
// # Basics
//
// A Bio is one kernel request: a read or write of contiguous file bytes
// from one or more memory segments, each remembering the request it
// belongs to (Segment.Owner, ReqOff), so that one completion can be split
// among several requests (Distribute). Bio.Prep fills an io_uring SQE.
//
// A Builder collects bios: Add checks alignment (an *AlignmentError names
// the offset, length or memory at fault), bounces unaligned memory through
// the Pool and splits at MaxBytes; Finish sorts and merges contiguous bios
// of the same file, op and flags into readv/writev of at most MaxBytes and
// MaxSegs. The runtime (aio) uses one Builder per request today, so the
// merge joins only the pieces of one request, and Distribute, which splits
// a merged bio's completion among requests, is not yet used by it: a plug
// across the requests of a batch is for the caller-driven ring to measure.
//
// PlanWrite plans a write whose ends are not aligned to what the kernel can
// take without blocking: the edge units to read (or zero-fill, where their
// content is known zero), merge and write whole, and the aligned middle
// that stays a plain bio. PlanRead plans a read the same way (edges read
// whole and copied out with CopyOut); Pieces lists a plan's parts in file
// order. aio's ring path and its workers both run these plans: they are
// the one implementation of unaligned edges.
//
// Pool hands out page-aligned buffers from one mmap'd region, registrable
// with a ring as a fixed buffer: for bounces of unaligned user memory and
// for read-modify-write units.
//
// # Caveats
//
// The Builder and plans hold slices of caller memory; the memory must stay
// valid until the bios complete. Overlapping I/O from different requests
// is never merged, but the Builder does not order it either: the runtime's
// range locks keep overlapping writes out of one batch. Nothing here
// allocates once a Builder has grown to its batch size.
package bio
