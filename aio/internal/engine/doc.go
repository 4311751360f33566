// Package engine is the runtime's one way to drive io_uring: a Ring is a
// kernel ring with the runtime's bookkeeping around it, and is driven the
// same way whoever uses it (a Context's own ring, or one of the per-P
// rings the blocking File methods share).
//
// # Three sides, none waiting on another
//
// The placer side (a Submit, or whoever drives the ring) maps each
// request (package iomap), plans its kernel requests (package bio) and
// writes their SQEs, under the placer lock; Submit only tries that lock,
// and a request it cannot place at once goes onto the ring's deferred
// queue (lock-free) for the ring's driver. Placing publishes the SQ tail
// and stops there: no io_uring_enter. The kernel takes the SQEs in the
// next io_uring_enter, made by a call that may wait: the driver's own
// (Drive: submit and wait in one enter, as Seastar's reactor submits from
// its poll loop), or the helper's (below). The completer side reaps CQEs
// under the completer lock and finishes requests: range locks released,
// the map told what was written (iomap's writers' lock, which no reader
// takes), results delivered to their Contexts. Kernel-request slots go
// from completer to placer through a lock-free set (queue.Slots).
//
// # The helper
//
// One goroutine per process enters the kernel for rings whose placed SQEs
// no driver has submitted (a Context whose user submits and then
// computes), places deferred requests no one else placed, and reaps rings
// that have completions and no one reaping them (a user waiting in
// File.Close or a barrier Sync for requests in a Context it does not
// reap). It looks every 50 µs while it finds such work, backing off to
// every millisecond while it finds none, and sleeps while no ring has
// anything in flight; Submit wakes it with a channel send when it sleeps.
//
// # Blocking callers
//
// The per-P rings of File's blocking methods are shared: each caller
// places its request, then either leads the ring (submits and waits in
// one io_uring_enter, reaps, and hands each completion to its caller) or,
// while another leads, parks on its own channel. A leader that finishes
// hands the lead to a parked caller. No caller is ever left without a
// ring, however many came before it.
package engine
