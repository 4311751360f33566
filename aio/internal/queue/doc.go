// Package queue holds the runtime's lock-free structures: MPSC, an
// intrusive multi-producer single-consumer queue of Nodes (requests on
// their way to a worker, a ring's driver or a Context's GetEvents), and
// Slots, a set of numbers handed out and given back (a Context's free
// request slots, a ring's free kernel-request slots). A push or a take
// never waits for a lock, so a Submit never waits for whoever consumes
// what it hands on; neither allocates.
package queue
