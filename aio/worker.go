package aio

import (
	"sync"
	"sync/atomic"
)

// workers run the slow path: everything that may block (allocation,
// extension, read-modify-write, retries of what the kernel refused with
// EAGAIN) and, with the syscall backend, every request.
//
// Owner: shared. Producers (Submit, the shards) push onto a lock-free
// queue and drop a token into wake without waiting, so a Submit never
// waits for a lock a worker holds; the workers pop under popMu, which only
// they take. Each worker goroutine owns its scratch buffer.
type workers struct {
	rt     *Runtime
	q      mpsc          // pushed by anyone; popped under popMu
	popMu  sync.Mutex    // one worker pops at a time (the queue has one consumer)
	wake   chan struct{} // tokens: work was pushed (capacity: one per worker)
	closed atomic.Bool
	done   chan struct{} // closed by stop
	wg     sync.WaitGroup
}

// scratchBytes is each worker's aligned buffer: the largest unit of a
// bounced read or write on the slow path.
const scratchBytes = 1 << 20

func (w *workers) start(rt *Runtime, n int) {
	w.rt = rt
	w.q.init()
	w.wake = make(chan struct{}, n)
	w.done = make(chan struct{})
	for range n {
		w.wg.Add(1)
		go w.run()
	}
}

// submit queues r for a worker. It never waits: a push, and a token if
// there is room for one (a full wake channel means workers are awake
// already and will pop it).
func (w *workers) submit(r *request) {
	w.q.push(r)
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *workers) pop() *request {
	w.popMu.Lock()
	defer w.popMu.Unlock()
	return w.q.pop()
}

// take returns the next request, waiting for one, or nil once the workers
// stop and the queue is drained.
func (w *workers) take() *request {
	for {
		if r := w.pop(); r != nil {
			return r
		}
		if w.closed.Load() && w.drained() {
			return nil
		}
		select {
		case <-w.wake:
		case <-w.done:
			if w.drained() {
				return nil
			}
		}
	}
}

func (w *workers) drained() bool {
	w.popMu.Lock()
	defer w.popMu.Unlock()
	return w.q.empty()
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
	w.closed.Store(true)
	close(w.done)
	w.wg.Wait()
}

// resubmit sends a request a barrier held back on its way, through the
// router like a new one.
func (rt *Runtime) resubmit(r *request) { rt.dispatch(r, false, false) }
