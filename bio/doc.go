// Package bio turns mapped byte ranges into kernel requests.
//
// # Basics
//
// A Bio is one kernel request: a read or write of contiguous file bytes
// from one segment of memory, which remembers where it starts in its
// request (Segment.ReqOff). Bio.Prep fills an io_uring SQE.
//
// A Builder collects the bios of one request: Add checks alignment (an
// *AlignmentError names the offset, length or memory at fault), bounces
// unaligned memory through the Pool and splits at MaxBytes; Bios returns
// them in the order added. It does not merge: a plug that joined
// contiguous bios of several requests into one readv/writev was built and
// deleted, unused (docs/decisions.md).
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
// valid until the bios complete. Nothing here allocates once a Builder has
// grown to its largest request.
package bio
