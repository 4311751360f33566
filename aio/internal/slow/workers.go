package slow

import (
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/aio/internal/inode"
	"github.com/nowaitio/nowait/aio/internal/queue"
	"github.com/nowaitio/nowait/aio/internal/req"
	"github.com/nowaitio/nowait/aio/internal/stats"
)

// Workers run the slow path. Owner: shared. Producers push onto a
// lock-free queue (and drop a token into wake); workers pop under popMu,
// which only they take. Each worker owns its scratch buffer.
type Workers struct {
	steps  inode.Steps
	stats  *stats.Counters
	q      queue.MPSC    // pushed by anyone; popped under popMu
	popMu  sync.Mutex    // one worker pops at a time (the queue has one consumer)
	wake   chan struct{} // tokens: work was pushed (capacity: one per worker)
	queued atomic.Bool   // Queue pushed work and woke no one
	closed atomic.Bool
	done   chan struct{} // closed by Stop
	wg     sync.WaitGroup
}

// scratchBytes is each worker's aligned buffer: the largest unit of a
// bounced read or write on the slow path.
const scratchBytes = 1 << 20

// Start starts n workers that extend files by steps and count in c.
func (w *Workers) Start(n int, steps inode.Steps, c *stats.Counters) {
	w.steps, w.stats = steps, c
	w.q.Init()
	w.wake = make(chan struct{}, n)
	w.done = make(chan struct{})
	for range n {
		w.wg.Add(1)
		go w.run()
	}
}

// Submit queues r and wakes a worker; it never waits.
func (w *Workers) Submit(r *req.Request) {
	w.q.Push(&r.Node)
	w.wakeOne()
}

// Queue queues r without waking a worker: Submit's way. A woken worker's
// thread often preempted the submitter on its own CPU (docs/decisions.md);
// Flush, called by whoever waits next (GetEvents, a blocking call, the
// helper), wakes one.
func (w *Workers) Queue(r *req.Request) {
	w.q.Push(&r.Node)
	w.queued.Store(true)
}

// Flush wakes a worker for what Queue queued, if anything.
func (w *Workers) Flush() {
	if w.queued.Load() && w.queued.Swap(false) {
		w.wakeOne()
	}
}

func (w *Workers) wakeOne() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *Workers) pop() *req.Request {
	w.popMu.Lock()
	defer w.popMu.Unlock()
	if n := w.q.Pop(); n != nil {
		return n.Owner.(*req.Request)
	}
	return nil
}

// take returns the next request, waiting for one, or nil once the workers
// stop and the queue is drained.
func (w *Workers) take() *req.Request {
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

func (w *Workers) drained() bool {
	w.popMu.Lock()
	defer w.popMu.Unlock()
	return w.q.Empty()
}

func (w *Workers) run() {
	defer w.wg.Done()
	batchThread()
	scratch := alignedBuffer(scratchBytes)
	for {
		r := w.take()
		if r == nil {
			return
		}
		w.do(r, scratch)
	}
}

// Stop lets the workers finish what is queued, then ends them.
func (w *Workers) Stop() {
	w.closed.Store(true)
	close(w.done)
	w.wg.Wait()
}

// batchThread locks the worker to a thread of its own at SCHED_BATCH: a
// worker waking (at the end of each of its system calls) then never
// preempts the submitting thread (docs/decisions.md). Where the policy
// cannot be set, the thread stays as it was.
func batchThread() {
	runtime.LockOSThread()
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_BATCH}
	unix.SchedSetAttr(0, &attr, 0)
}
