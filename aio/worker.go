package aio

import (
	"sync"
)

// workers run the slow path: everything that may block (allocation,
// extension, read-modify-write, retries of what the kernel refused with
// EAGAIN) and, with the syscall backend, every request.
//
// Owner: shared; mu guards the queue. Each worker goroutine owns its
// scratch buffer.
type workers struct {
	rt     *Runtime
	mu     sync.Mutex
	cond   sync.Cond
	q      []*request // FIFO: q[head:] are waiting
	head   int
	closed bool
	wg     sync.WaitGroup
}

// scratchBytes is each worker's aligned buffer: the largest unit of a
// bounced read or write on the slow path.
const scratchBytes = 1 << 20

func (w *workers) start(rt *Runtime, n int) {
	w.rt = rt
	w.cond.L = &w.mu
	for range n {
		w.wg.Add(1)
		go w.run()
	}
}

// submit queues r for a worker. It never waits: the queue grows.
func (w *workers) submit(r *request) {
	w.mu.Lock()
	w.q = append(w.q, r)
	w.mu.Unlock()
	w.cond.Signal()
}

func (w *workers) take() *request {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.head == len(w.q) && !w.closed {
		w.cond.Wait()
	}
	if w.head == len(w.q) {
		return nil
	}
	r := w.q[w.head]
	w.q[w.head] = nil
	w.head++
	if w.head == len(w.q) {
		w.q, w.head = w.q[:0], 0
	}
	return r
}

func (w *workers) run() {
	defer w.wg.Done()
	scratch := AlignedBuffer(scratchBytes)
	for {
		r := w.take()
		if r == nil {
			return
		}
		w.rt.slow(r, scratch)
	}
}

// stop lets the workers finish what is queued, then ends them.
func (w *workers) stop() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.cond.Broadcast()
	w.wg.Wait()
}

// resubmit sends a request a barrier held back on its way, through the
// router like a new one.
func (rt *Runtime) resubmit(r *request) { rt.dispatch(r) }
