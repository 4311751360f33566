// Package ring is nowait's own binding of Linux io_uring, written on
// golang.org/x/sys/unix. It is the only package of the project with kernel
// ABI and unsafe code.
//
// # Basics
//
// New sets up a ring (and says, with an *UnavailableError, when io_uring
// cannot be used here). NextSQE hands out a submission entry, a Prep method
// fills it, Submit (or SubmitAndWait) hands the prepared entries to the
// kernel in one system call, and Reap or Wait copy completions out:
//
//	r, err := ring.New(ring.Config{Entries: 64})
//	sqe := r.NextSQE()
//	sqe.PrepRead(int32(fd), buf, off, ring.RWFNoWait)
//	sqe.UserData = slot
//	r.SubmitAndWait(1)
//	n := r.Reap(cqes)
//
// # Who may touch a ring
//
// One goroutine owns a ring and makes every call on it. A ring is a pair of
// single-producer, single-consumer queues shared with the kernel: the
// owner is the only producer of submissions and the only consumer of
// completions, which is what makes the hot path free of locks. With
// SINGLE_ISSUER and DEFER_TASKRUN the kernel enforces it: the owner must be
// locked to its OS thread (runtime.LockOSThread) before New, because the
// kernel binds the ring to that thread and answers EEXIST to any other.
// Other goroutines hand work to the owner through the layers above (aio),
// never by calling into the ring.
//
// # Waiting outside io_uring_enter
//
// A thread asleep in a system call keeps its Go P until the runtime takes
// it back, up to 10 ms later on a quiet program. An owner that would rather
// park its goroutine registers an eventfd (RegisterEventfd), reads it
// through Go's netpoller, and turns the kernel's signals off while it is
// awake and reaping (SetEventfdNotify): aio's shards sleep this way.
//
// # Memory
//
// The kernel reads and writes buffers after Submit returns. A buffer must
// stay valid and untouched until its completion is reaped; Go heap memory
// must be kept reachable or pinned (runtime.Pinner), and the address of a
// goroutine's local variable must never be passed, since stacks move. The
// ring keeps the few small arguments the kernel reads at submission time
// (timeouts, the wait timeout) in its own heap memory. user_data is a plain
// number chosen by the caller, an index or a counter, never a Go pointer.
//
// # Caveats
//
// No method allocates on the submit and reap paths. Completions are never
// dropped: the kernel's FEAT_NODROP keeps overflowed ones, and Reap and
// Submit enter the kernel to have them posted. EINTR is retried; EBUSY and
// EAGAIN from a submit mean "reap, then submit again" (SubmitAndReap does
// that loop).
package ring
