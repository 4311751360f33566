//go:build nowait_invariants

package queue

import (
	"runtime"
	"sync/atomic"
)

var pushes atomic.Uint32

// pushPause widens, for tests built with nowait_invariants, the moment
// between a push's swap and its link, where a consumer sees the queue
// not empty and pops nothing. In production a producer preempted there,
// or the VM stopped, holds it open for milliseconds; here every eighth
// push yields its P in it.
func pushPause() {
	if pushes.Add(1)%8 == 0 {
		runtime.Gosched()
	}
}
