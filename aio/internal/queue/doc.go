// Package queue holds the runtime's lock-free structures: MPSC, an
// intrusive queue of Nodes, and Slots, a set of numbers handed out and
// given back. A push or a take never waits for a lock; neither allocates.
package queue
