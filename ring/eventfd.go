package ring

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

// A registered eventfd lets the ring's owner sleep somewhere other than
// io_uring_enter: in Go's netpoller, for instance, where a parked goroutine
// gives its P back at once, while a thread asleep in a system call keeps
// its P until the runtime's monitor takes it back (up to 10 ms on an idle
// program). The kernel adds to the eventfd's counter when it posts a
// completion and, with DEFER_TASKRUN, when completion work is queued for the
// owner (CompletionsPending then turns true, and Reap posts the CQEs).

// RegisterEventfd asks the kernel to signal fd on completions.
func (r *Ring) RegisterEventfd(fd int) error {
	if r.closed {
		return ErrClosed
	}
	efd := int32(fd)
	if _, err := sysRegister(r.fd, registerEventfd, unsafe.Pointer(&efd), 1); err != nil {
		return fmt.Errorf("ring: register eventfd %d: %w", fd, err)
	}
	return nil
}

// UnregisterEventfd stops the signals.
func (r *Ring) UnregisterEventfd() error { return r.unregister(unregisterEventfd, "eventfd") }

// SetEventfdNotify turns the eventfd signals on or off
// (IORING_CQ_EVENTFD_DISABLED). An owner that is awake and reaping turns
// them off, so that the kernel does not wake whoever waits on the eventfd
// for nothing. To sleep without losing a wake-up, turn them on, then check
// CompletionsPending, then wait: the flag is written with a full barrier,
// so a completion either sees the signals on or is seen by the check.
func (r *Ring) SetEventfdNotify(on bool) {
	if r.cq.flags == nil {
		return
	}
	f := atomic.LoadUint32(r.cq.flags)
	if on {
		f &^= cqEventfdDisabled
	} else {
		f |= cqEventfdDisabled
	}
	atomic.StoreUint32(r.cq.flags, f) // Go atomics are sequentially consistent
}
