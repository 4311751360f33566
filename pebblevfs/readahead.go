package pebblevfs

import (
	"errors"
	"io"
	"sync"

	"github.com/nowaitio/nowait/aio"
)

// Read-ahead. pebble opens a handle with vfs.SequentialReadsOption where
// it will read a file from one end to the other: a compaction's inputs,
// and an iterator that has read sequentially for a while (its speculative
// read-ahead grown to 256 KiB). On vfs.Default that option asks the kernel
// for its read-ahead; direct I/O has none, and each 4 KiB block was one
// read, waiting for the device, and one trip through the kernel.
//
// Such a handle reads windows instead: a read that misses the window
// reads one from its offset (the block it starts in), and while the
// caller consumes a window the next one is already in flight through a
// Context (double buffering), so a sequential reader waits for the
// device only when it outruns it. A window starts at raMin and doubles,
// as long as the reads stay sequential, up to raMax; a read out of
// sequence starts again at raMin. Reads of raMax/2 or more go straight to
// the runtime.
//
// Memory: at most two raMax buffers per sequential handle while it is
// open (2 MiB), from a pool the FS keeps (pool.go). Random reads (Gets)
// open no such handle and never pay for it.
//
// pebble opens sequential handles on files it no longer writes (sstables,
// blob files): a window is not refreshed by writes through other handles.

const (
	raMin = 64 << 10
	raMax = 1 << 20
)

// window is the file's bytes [off, off+n) in buf, or the error reading
// them gave. Owner: its readahead's mu.
type window struct {
	buf []byte
	off int64
	n   int
	err error // other than the end of the file
}

func (w *window) holds(pos int64) bool {
	return w.buf != nil && pos >= w.off && pos < w.off+int64(w.n)
}

func (w *window) end() int64 { return w.off + int64(w.n) }

// readahead is a sequential handle's windows. Owner: the handle; mu
// serialises its readers (pebble reads such a handle from one goroutine,
// but vfs.File allows more).
type readahead struct {
	fs   *FS
	f    *aio.File
	ctx  *aio.Context // one read in flight: the next window
	mu   sync.Mutex
	cur  window
	next window // in flight while pending
	cb   aio.IOCB
	ev   [1]aio.Event
	// pending: next is in flight; size: the next window's size.
	pending bool
	size    int
}

func newReadahead(fs *FS, f *aio.File) (*readahead, error) {
	ctx, err := fs.oneCtxs.get(fs.rt)
	if err != nil {
		return nil, err
	}
	return &readahead{fs: fs, f: f, ctx: ctx, size: raMin}, nil
}

// readAt reads len(p) bytes at off, as io.ReaderAt: fewer come with
// io.EOF.
func (ra *readahead) readAt(p []byte, off int64) (int, error) {
	if len(p) >= raMax/2 {
		return ra.f.ReadAt(p, off)
	}
	ra.mu.Lock()
	defer ra.mu.Unlock()
	if ra.ctx == nil {
		return ra.f.ReadAt(p, off) // closed: the runtime says so
	}
	done := 0
	for done < len(p) {
		pos := off + int64(done)
		if !ra.cur.holds(pos) {
			if err := ra.fill(pos); err != nil {
				return done, err
			}
			if !ra.cur.holds(pos) {
				return done, io.EOF // pos is at or past the end of the file
			}
		}
		done += copy(p[done:], ra.cur.buf[pos-ra.cur.off:ra.cur.n])
	}
	ra.prefetch()
	return done, nil
}

// fill makes cur the window that holds pos: the one in flight if it
// does, else a new one read now, from the block pos is in.
func (ra *readahead) fill(pos int64) error {
	if ra.pending {
		sequential := ra.next.off <= pos && pos < ra.next.off+int64(len(ra.next.buf))
		if err := ra.wait(); err != nil {
			return err
		}
		if sequential {
			ra.swap()
			return ra.cur.err
		}
	}
	ra.size = raMin // out of sequence: start small again
	at := pos / blockSize * blockSize
	ra.release(&ra.next)
	ra.next = window{buf: ra.fs.raBufs.get()[:ra.size], off: at}
	if err := ra.start(); err != nil {
		return err
	}
	if err := ra.wait(); err != nil {
		return err
	}
	ra.swap()
	return ra.cur.err
}

// prefetch starts reading the window after cur, unless one is in flight
// or cur ends the file.
func (ra *readahead) prefetch() {
	if ra.pending || ra.cur.buf == nil || ra.cur.err != nil || ra.cur.n < len(ra.cur.buf) {
		return
	}
	ra.size = min(2*ra.size, raMax)
	ra.release(&ra.next)
	ra.next = window{buf: ra.fs.raBufs.get()[:ra.size], off: ra.cur.end()}
	if ra.start() != nil {
		ra.release(&ra.next) // the next read reads it itself
	}
}

// start submits the read of next.
func (ra *readahead) start() error {
	ra.cb = aio.IOCB{Op: aio.OpRead, File: ra.f, Buf: ra.next.buf, Offset: ra.next.off}
	if _, err := ra.ctx.Submit(&ra.cb); err != nil {
		return err
	}
	ra.pending = true
	return nil
}

// wait waits for next's read; its result goes in next (n, err), and only
// a failure to wait is returned.
func (ra *readahead) wait() error {
	if _, err := ra.ctx.GetEvents(1, ra.ev[:], -1); err != nil {
		return err
	}
	ra.pending = false
	ra.next.n, ra.next.err = ra.ev[0].N, ra.ev[0].Err
	if errors.Is(ra.next.err, io.EOF) {
		ra.next.err = nil
	}
	return nil
}

// swap makes next the current window and gives the old one's buffer
// back.
func (ra *readahead) swap() {
	ra.release(&ra.cur)
	ra.cur, ra.next = ra.next, window{}
}

func (ra *readahead) release(w *window) {
	if w.buf != nil {
		ra.fs.raBufs.put(w.buf)
	}
	*w = window{}
}

// close waits for a read in flight and gives back the buffers and the
// context.
func (ra *readahead) close() error {
	ra.mu.Lock()
	defer ra.mu.Unlock()
	if ra.ctx == nil {
		return nil // closed before: the context is another handle's now
	}
	defer func() { ra.ctx = nil }()
	var err error
	if ra.pending {
		err = ra.wait()
	}
	ra.release(&ra.cur)
	ra.release(&ra.next)
	if err != nil {
		return errors.Join(err, ra.ctx.Close()) // the context is in doubt: not reused
	}
	ra.fs.oneCtxs.put(ra.ctx)
	return nil
}
