package bench

import (
	"runtime"
	"time"

	"github.com/nowaitio/nowait/aio"
)

// opKind is what one I/O of a queue does.
type opKind uint8

const (
	opRead opKind = iota
	opWrite
	opDatasync // fdatasync, ordered after the queue's earlier writes
	opFsync    // fsync, likewise
)

func (k opKind) isSync() bool { return k == opDatasync || k == opFsync }

// slot is one I/O of a queue: chosen by the queue's source, sent and
// completed by its driver. Owner: the queue's goroutine.
type slot struct {
	kind  opKind
	file  int    // the engine's handle (fileRun.handle)
	off   int64  // absolute offset in the file
	buf   []byte // the I/O's bytes: mem[:size], nil for a sync
	mem   []byte // the slot's aligned buffer, of the job's largest block
	start time.Time
	units unitSpan // verified blocks held while it is in flight
	cf    *cloneFile
}

// completion is one finished slot.
type completion struct {
	idx int   // the slot
	res int   // bytes done
	err error // the I/O's error
}

// driver is an engine's side of a queue: it sends the slots the loop
// fills and hands them back done. Owner: the queue's goroutine.
type driver interface {
	// queue adds slot idx to the next submission.
	queue(idx int, s *slot)
	// submit sends the queued slots in their order and returns how many
	// the engine took; the rest come back to the loop unsent (would block).
	submit() (int, error)
	// wait returns at least min completions and at most len(out) (or
	// fewer at a timeout).
	wait(out []completion, min int) (int, error)
}

// nextState is a source's answer for a free slot.
type nextState uint8

const (
	nextIssue nextState = iota // the slot is filled: send it
	nextLater                  // nothing now (thinktime, rate, a busy block): reap first
	nextStop                   // the queue issues no more
)

// source chooses a queue's I/Os and counts them. Owner: the queue's goroutine.
type source interface {
	// next fills s for sending at *now; idle says nothing is in flight or
	// queued, so that a source that must wait (thinktime, a rate) waits
	// itself, and moves *now past its wait.
	next(s *slot, now *time.Time, idle bool) nextState
	// submitted counts one submit call that took d.
	submitted(t0 time.Time, d time.Duration)
	// unsent returns a slot the driver did not take.
	unsent(s *slot)
	// done counts a completed slot.
	done(s *slot, c completion, at time.Time)
}

// runQueue keeps a queue of len(slots) I/Os full, sending and reaping
// them in batches as b says: the one loop of every engine (the mixed
// job's too). It returns a driver's error; the I/Os' own errors are the
// source's to count.
func runQueue(d driver, src source, slots []slot, b batching) error {
	if faultDriver != nil {
		d = faultDriver(d, len(slots))
	}
	q := &queueLoop{d: d, src: src, slots: slots, b: b,
		free: make([]int, 0, len(slots)), queued: make([]int, 0, len(slots)), comps: make([]completion, len(slots))}
	for i := range slots {
		q.free = append(q.free, i)
	}
	running := true
	var now time.Time // outside the loop: the source takes its address, and it would move to the heap each time
	for running || q.inflight > 0 {
		// The clock as the last submit or reap read it: a read fewer per
		// I/O (100 ns here, 1-2% of an I/O's CPU).
		if now = q.stamp; now.IsZero() {
			now = time.Now()
		}
		q.stamp = time.Time{}
		for running && len(q.free) > 0 {
			idx := q.free[len(q.free)-1]
			s := &slots[idx]
			st := src.next(s, &now, q.inflight == 0 && len(q.queued) == 0)
			if st == nextStop {
				running = false
			}
			if st != nextIssue {
				break
			}
			q.free = q.free[:len(q.free)-1]
			s.start = now
			d.queue(idx, s)
			if q.queued = append(q.queued, idx); len(q.queued) >= b.submit {
				if err := q.submit(); err != nil {
					return err
				}
				now = q.stamp
			}
		}
		if err := q.submit(); err != nil {
			return err
		}
		if q.inflight == 0 {
			if running {
				runtime.Gosched() // a source waiting on another queue's block
				q.stamp = time.Time{}
			}
			continue
		}
		// A full queue is reaped down to the low mark before it fills
		// again (fio's iodepth_low; by default one completion is enough).
		full := len(q.free) == 0
		for {
			if err := q.reap(); err != nil {
				return err
			}
			if !full || q.inflight <= b.low {
				break
			}
		}
	}
	return nil
}

// queueLoop is runQueue's state. Owner: the queue's goroutine.
type queueLoop struct {
	d        driver
	src      source
	slots    []slot
	b        batching
	free     []int // slots not in flight
	queued   []int // slots given to the driver, not yet submitted
	comps    []completion
	inflight int
	stamp    time.Time // the clock's last reading, at the end of a submit or a reap; zero: read it again
}

// submit sends the queued slots; those the driver did not take are free
// again.
func (q *queueLoop) submit() error {
	if len(q.queued) == 0 {
		return nil
	}
	t0 := time.Now()
	n, err := q.d.submit()
	q.stamp = time.Now()
	q.src.submitted(t0, q.stamp.Sub(t0))
	if err != nil {
		return err
	}
	for _, idx := range q.queued[n:] {
		q.src.unsent(&q.slots[idx])
		q.free = append(q.free, idx)
	}
	q.inflight += n
	q.queued = q.queued[:0]
	return nil
}

// reap waits for completions, as many as the batching says.
func (q *queueLoop) reap() error {
	n, err := q.d.wait(q.comps[:min(q.b.reapMax, q.inflight)], min(q.b.reapMin, q.inflight))
	if err != nil {
		return err
	}
	at := time.Now()
	q.stamp = at
	for _, c := range q.comps[:n] {
		q.src.done(&q.slots[c.idx], c, at)
		q.free = append(q.free, c.idx)
		q.inflight--
	}
	return nil
}

// faultDriver, set by tests only, wraps every queue's driver: fault
// injection on top of the real engines (a write dropped, to show that
// verify catches it).
var faultDriver func(d driver, depth int) driver

// newSlots makes depth slots with aligned buffers of size bytes, filled
// with data.
func newSlots(depth int, size int64, stream uint64) []slot {
	slots := make([]slot, depth)
	for i := range slots {
		slots[i].mem = aio.AlignedBuffer(int(size))
		fillBlock(slots[i].mem, uint64(i)+stream<<32)
	}
	return slots
}
