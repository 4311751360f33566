// Package engine is the runtime's one way to drive io_uring. A Ring is a
// kernel ring with the runtime's bookkeeping, driven the same way whoever
// uses it: a Context's own ring, or a per-P ring the blocking File
// methods share.
//
// Three sides, none waiting on another. Submit only queues (Queue), a
// lock-free push. The placer (the ring's driver, or the helper) maps each
// queued request (iomap), plans its kernel requests (bio), writes their
// SQEs and publishes them, under sqMu. The kernel takes them in the next
// io_uring_enter of a call that may wait: the driver's own (Drive:
// submit and wait in one enter, as Seastar's reactor submits from its
// poll loop) or the helper's. The completer reaps under cqMu and finishes
// requests (range locks released, the map updated, results delivered).
//
// The helper, one goroutine per process, places and submits for rings no
// driver drives (a Context whose user submits, then computes) and reaps
// those no one reaps (a File.Close behind a Context's requests). It naps
// while rings are busy and sleeps, until a Submit wakes it, when none is.
//
// The per-P rings are shared: a blocking caller leads its ring (submits
// and waits in one enter, and hands every completion to its caller) or,
// while another leads, parks until its completion or the lead comes to
// it. No caller is ever left without a ring.
package engine
