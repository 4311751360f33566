package pebblevfs

import (
	"io"
	"time"

	"github.com/nowaitio/nowait/aio"
)

// Write-behind. A gathering file (gather.go) whose buffer fills does not
// wait for its write: the full buffer goes to the runtime through a
// Context, and the writer goes on gathering into another. Up to wbDepth
// such writes are in flight per file; one more waits for the oldest. On
// vfs.Default the page cache takes a flush's or a compaction's writes at
// memory speed and the kernel writes them back behind; here each 256 KiB
// write waited for the device, and the compaction waited with it. A
// write-ahead log's writes go behind too, each as soon as pebble's log
// writer writes it (gather.go, writeThroughLocked).
//
// Sync, SyncData, SyncTo and Close wait for every write in flight before
// they write the partial block and sync; a read of the file waits for
// them too. A write in flight that fails is returned by the next call on
// the file (Write, Sync, Close...) and by every one after it: never lost.
//
// Memory: wbDepth+1 gather buffers per file being written (1.25 MiB), from
// the FS's pool (pool.go), and a Context of depth wbDepth from the FS's
// pool, taken at the first full buffer (small files take neither; a
// log, at its first write behind).

const wbDepth = 4

// writeBehind is a file's writes in flight. Owner: the file's mu.
type writeBehind struct {
	fs     *FS
	ctx    *aio.Context
	cbs    [wbDepth]aio.IOCB
	busy   [wbDepth]bool
	n      int // writes in flight
	ev     [wbDepth]aio.Event
	sent   int   // writes sent behind, in all
	failed error // the first write in flight that failed; sticky
	keep   bool  // written buffers go to the FS's recent data (written.go), with key
	key    inode
}

// write sends buf, the file's bytes at off, on its way, and returns
// without waiting for it unless wbDepth writes are in flight. buf is the
// runtime's until its write completes; then it goes back to the pool.
// It reports whether it took buf.
func (w *writeBehind) write(f *file, buf []byte, off int64) (bool, error) {
	if w.failed != nil {
		return false, w.failed
	}
	if w.ctx == nil {
		ctx, err := w.fs.wbCtxs.get(w.fs.rt)
		if err != nil {
			return false, err
		}
		w.ctx = ctx
	}
	if w.n == wbDepth {
		if err := w.reap(1); err != nil {
			return false, err
		}
	}
	i := 0
	for w.busy[i] {
		i++
	}
	w.cbs[i] = aio.IOCB{Op: aio.OpWrite, File: f.f, Buf: buf, Offset: off, UserData: uint64(i)}
	w.keep, w.key = f.g.keep, f.key
	if _, err := w.ctx.Submit(&w.cbs[i]); err != nil {
		w.cbs[i] = aio.IOCB{}
		return false, err
	}
	w.busy[i] = true
	w.n++
	w.sent++
	return true, w.reap(0) // starts it (GetEvents submits), and takes what is done
}

// reap takes the completions there are, waiting for at least min, and
// gives their buffers back. It returns the first failure of a write, or
// of the wait itself.
func (w *writeBehind) reap(min int) error {
	if w.n == 0 {
		return w.failed
	}
	timeout := time.Duration(-1) // no limit
	if min == 0 {
		timeout = 0
	}
	k, err := w.ctx.GetEvents(min, w.ev[:w.n], timeout)
	for _, ev := range w.ev[:k] {
		i := ev.IOCB.UserData
		switch {
		case ev.Err != nil:
			w.fail(ev.Err)
		case ev.N < len(ev.IOCB.Buf):
			w.fail(&aio.Error{Op: "write", Path: ev.IOCB.File.Name(), Offset: ev.IOCB.Offset + int64(ev.N), Err: io.ErrShortWrite})
		}
		if w.keep && ev.Err == nil && ev.N == len(ev.IOCB.Buf) {
			w.fs.recent.keep(w.key, ev.IOCB.Offset, ev.IOCB.Buf) // it owns the buffer now
		} else {
			w.fs.gatherBufs.put(ev.IOCB.Buf)
		}
		w.busy[i], w.cbs[i] = false, aio.IOCB{}
		w.n--
	}
	if err != nil {
		return w.fail(err)
	}
	return w.failed
}

func (w *writeBehind) fail(err error) error {
	if w.failed == nil {
		w.failed = err
	}
	return w.failed
}

// drain waits for every write in flight and returns the first failure.
func (w *writeBehind) drain() error {
	for w.n > 0 {
		before := w.n
		err := w.reap(w.n)
		if err != nil && w.n == before {
			return err // the wait itself failed (a closed context)
		}
	}
	return w.failed
}

// close waits for the writes in flight and gives the context back.
func (w *writeBehind) close() error {
	err := w.drain()
	if w.ctx != nil {
		if w.n == 0 {
			w.fs.wbCtxs.put(w.ctx)
		} else {
			w.ctx.Close() // waits for them; not reused
		}
		w.ctx = nil
	}
	return err
}
