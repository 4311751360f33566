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
	// wait returns at least one completion (or none at a timeout).
	wait(out []completion) (int, error)
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

// runQueue keeps a queue of len(slots) I/Os full: the one loop of every
// engine (the mixed job's too). It returns a driver's error; the I/Os'
// own errors are the source's to count.
func runQueue(d driver, src source, slots []slot) error {
	if faultDriver != nil {
		d = faultDriver(d, len(slots))
	}
	free := make([]int, 0, len(slots))
	for i := range slots {
		free = append(free, i)
	}
	queued := make([]int, 0, len(slots))
	comps := make([]completion, len(slots))
	inflight, running := 0, true
	for running || inflight > 0 {
		now := time.Now()
		for running && len(free) > 0 {
			idx := free[len(free)-1]
			s := &slots[idx]
			st := src.next(s, &now, inflight == 0 && len(queued) == 0)
			if st == nextStop {
				running = false
			}
			if st != nextIssue {
				break
			}
			free = free[:len(free)-1]
			s.start = now
			d.queue(idx, s)
			queued = append(queued, idx)
		}
		if len(queued) > 0 {
			t0 := time.Now()
			n, err := d.submit()
			src.submitted(t0, time.Since(t0))
			if err != nil {
				return err
			}
			for _, idx := range queued[n:] {
				src.unsent(&slots[idx])
				free = append(free, idx)
			}
			inflight += n
			queued = queued[:0]
		}
		if inflight == 0 {
			if running {
				runtime.Gosched() // a source waiting on another queue's block
			}
			continue
		}
		n, err := d.wait(comps)
		if err != nil {
			return err
		}
		at := time.Now()
		for _, c := range comps[:n] {
			src.done(&slots[c.idx], c, at)
			free = append(free, c.idx)
			inflight--
		}
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
