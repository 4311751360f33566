package pebblevfs

import (
	"io"

	"github.com/nowaitio/nowait/aio"
)

// A file pebble writes sequentially and syncs before it relies on it (an
// sstable, a blob file, the MANIFEST, OPTIONS) gathers its writes: they
// collect in memory and go to the runtime as whole aligned writes of
// gatherSize, which it sends straight to the ring, instead of one
// unaligned write per block (each a read-modify-write on a worker: the
// fill of a database ran at a ninth of vfs.Default's rate so). Sync,
// SyncData, SyncTo and Close write what is gathered; the partial block at
// its end stays in memory, so that the next write starts again at that
// block's start and the runtime reads nothing back.
//
// What is gathered is not in the file until then: a process that dies
// loses it, where os.File's page cache would have kept it. pebble never
// relies on a file of these kinds before syncing it. The write-ahead log
// (*.log) and files opened with OpenReadWrite are written through: the
// same buffer goes to the runtime after every Write (through), so that a
// log's records leave the process as soon as pebble's log writer writes
// them, as on vfs.Default; the log's writes go behind the writer unless
// they go with FlagDSync (writeThroughLocked). They keep the partial
// block too, so that a WAL record that starts inside a block goes from
// the block's start and the runtime reads nothing back (it zero-fills the
// rest of the last block, where no data has been: aio's inode.dataEnd);
// written from its own offset, each record cost a read of its first
// block.

const (
	// blockSize is the alignment gathered writes keep: the largest
	// logical block size of the devices nowait runs on, and a multiple of
	// every filesystem block up to it.
	blockSize = 4096
	// gatherSize is how much a file gathers before it writes.
	gatherSize = 256 << 10
)

// gather is what a file has gathered: buf[:n] is the file's content from
// off, a block boundary; buf[:clean] is on the file already (the partial
// block the last flush wrote). Owner: the file's mu.
type gather struct {
	buf      []byte
	off      int64
	n, clean int
	through  bool // written after every Write, not at Sync and Close
	// recycled: a write-ahead log reused for a new one (ReuseForWrite):
	// what lies past the bytes written is an old log's, which pebble
	// never reads as this log's records (each carries its log's number,
	// and zeros end a log as preallocation's do), so a write that ends
	// inside the file pads its last block with zeros: aligned, it goes
	// to the ring, where keeping the old bytes past it cost a read of the
	// block on a worker for every commit.
	recycled bool
	wb       *writeBehind // a gathering file's full buffers, or a log's writes, in flight (writebehind.go); else nil
	keep     bool         // what is written goes to the FS's recent data too (written.go)
	// own: a through file's Context, on whose ring its writes wait
	// (writeNow); nil until the first.
	own *aio.Context
	ws  walSync // a through file's writes since its last sync (walsync.go)
	cb  aio.IOCB
	ev  [1]aio.Event
}

func (g *gather) end() int64 { return g.off + int64(g.n) }

// dirty reports whether the file lacks bytes written here: gathered, or
// in flight.
func (g *gather) dirty() bool    { return g.n > g.clean || (g.wb != nil && g.wb.n > 0) }
func (g *gather) reset(at int64) { g.off, g.n, g.clean = at, 0, 0 }

// failed returns the first failure of a write in flight: every call on
// the file returns it from then on.
func (g *gather) failed() error {
	if g.wb == nil {
		return nil
	}
	return g.wb.failed
}

// overlaps reports whether [off, off+n) reaches the bytes buf holds.
func (g *gather) overlaps(off int64, n int) bool { return off < g.end() && off+int64(n) > g.off }

// gatherWrite is Write for a file with a gather buffer. mu is held.
func (f *file) gatherWrite(p []byte) (int, error) {
	g := f.g
	if err := g.failed(); err != nil {
		return 0, err
	}
	if f.pos != g.end() { // not where the gathered bytes end: start again here
		if err := f.flushLocked(); err != nil {
			return 0, err
		}
		g.reset(f.pos)
	}
	done := 0
	if g.n == 0 && g.off%blockSize != 0 {
		// The bytes before the position in its block were not written
		// here: write up to the block's end through, then gather.
		k := min(len(p), int(blockSize-g.off%blockSize))
		g.ws.plainWrite()
		n, err := f.f.WriteAt(p[:k], f.pos)
		f.pos += int64(n)
		g.reset(f.pos)
		if err != nil {
			return n, err
		}
		done = k
	}
	if g.buf == nil && done < len(p) {
		g.buf = f.fs.gatherBufs.get()
	}
	for done < len(p) {
		k := copy(g.buf[g.n:], p[done:])
		g.n += k
		f.pos += int64(k)
		done += k
		if g.n == len(g.buf) {
			if err := f.writeFull(); err != nil {
				return done, err
			}
		}
	}
	if g.through {
		return done, f.writeThroughLocked()
	}
	return done, nil
}

// writeThroughLocked writes a through file's new bytes after a Write.
// A write-ahead log's write that its next Sync makes durable (not one
// that goes with FlagDSync: walsync.go) goes behind the writer: pebble's
// log writer writes its queued blocks one Write at a time, and closes the
// log (each memtable's) holding every commit until they are written; each
// waiting for the device (p50 119 us, 4 ms at p99 beside compactions),
// the commits of a fill were held 2.9 s in 9.5 s so. pebble does not
// promise that a NoSync commit outlives the process (WriteOptions.Sync).
// A write that rewrites the block the last one ended in waits for the
// writes in flight first: two writes of one block in flight at once may
// land in either order. mu is held.
func (f *file) writeThroughLocked() error {
	g := f.g
	if g.wb == nil || g.ws.durableNext() {
		return f.flushLocked()
	}
	if err := g.failed(); err != nil || g.n == g.clean {
		return err
	}
	if g.clean > 0 && g.wb.n > 0 {
		if err := g.wb.drain(); err != nil {
			return err
		}
	}
	n := f.paddedLocked()
	g.ws.write()
	taken, err := g.wb.write(f, g.buf[:n], g.off)
	if !taken {
		return err
	}
	whole := g.n / blockSize * blockSize
	next := f.fs.gatherBufs.get()
	copy(next, g.buf[whole:g.n]) // the partial block, for the next write
	g.buf = next
	g.off += int64(whole)
	g.n -= whole
	g.clean = g.n
	return err
}

// paddedLocked is how much of buf a through write writes: what is
// gathered, its last block padded with zeros in a recycled log where that
// block lies inside the old log. mu is held.
func (f *file) paddedLocked() int {
	g := f.g
	n := g.n
	if padded := (n + blockSize - 1) / blockSize * blockSize; g.recycled && g.off+int64(padded) <= f.f.Size() {
		clear(g.buf[n:padded])
		n = padded
	}
	return n
}

// writeFull writes the full gather buffer: behind, the writer going on
// in another buffer, or through. mu is held.
func (f *file) writeFull() error {
	g := f.g
	if g.wb == nil {
		if _, err := f.f.WriteAt(g.buf, g.off); err != nil {
			return err
		}
		g.reset(g.end())
		return nil
	}
	taken, err := g.wb.write(f, g.buf, g.off)
	if taken {
		g.buf = f.fs.gatherBufs.get()
		g.reset(g.end())
	}
	return err
}

// flushLocked waits for the writes in flight, writes what is gathered and
// keeps its partial last block. mu is held.
func (f *file) flushLocked() error {
	g := f.g
	if g == nil {
		return nil
	}
	if err := g.failed(); err != nil || !g.dirty() {
		return err
	}
	if g.wb != nil {
		if err := g.wb.drain(); err != nil {
			return err
		}
		if g.n == g.clean {
			return nil
		}
	}
	n := f.paddedLocked()
	if err := f.writeNow(g.buf[:n], g.off); err != nil {
		return err
	}
	if g.keep {
		kept := f.fs.gatherBufs.get()[:n]
		copy(kept, g.buf[:n])
		f.fs.recent.keep(f.key, g.off, kept)
	}
	whole := g.n / blockSize * blockSize
	copy(g.buf, g.buf[whole:g.n])
	g.off += int64(whole)
	g.n -= whole
	g.clean = g.n
	return nil
}

// writeNow writes buf at off and waits for it: a through file on its own
// Context (own), others through aio.File.
func (f *file) writeNow(buf []byte, off int64) error {
	if !f.g.through {
		_, err := f.f.WriteAt(buf, off)
		return err
	}
	var flags aio.Flag
	if f.g.ws.write() {
		flags = aio.FlagDSync
	}
	n, err := f.own(aio.IOCB{Op: aio.OpWrite, File: f.f, Buf: buf, Offset: off, Flags: flags})
	if err == nil && n < len(buf) {
		err = &aio.Error{Op: "write", Path: f.f.Name(), Offset: off + int64(n), Err: io.ErrShortWrite}
	}
	return err
}

// own does cb on the file's own Context and waits for it. A through file
// (the WAL) writes and syncs so: its writer drives the Context's ring
// itself, rather than waiting behind the leader of a ring other callers
// share (a WAL write's p50 in YCSB A went from 416 to 129 us).
func (f *file) own(cb aio.IOCB) (int, error) {
	g := f.g
	if g.own == nil {
		ctx, err := f.fs.oneCtxs.get(f.fs.rt)
		if err != nil {
			return 0, err
		}
		g.own = ctx
	}
	g.cb = cb
	if _, err := g.own.Submit(&g.cb); err != nil {
		return 0, err
	}
	if _, err := g.own.GetEvents(1, g.ev[:], -1); err != nil {
		g.own = nil // in doubt: not reused
		return 0, err
	}
	ev := g.ev[0]
	g.cb, g.ev[0] = aio.IOCB{}, aio.Event{}
	return ev.N, ev.Err
}

// close gives back the writes' context and the buffer, once flushed (or
// failed). The file's mu is not needed: the file is closing.
func (g *gather) close(fs *FS) error {
	var err error
	if g.wb != nil {
		err = g.wb.close()
	}
	if g.buf != nil {
		fs.gatherBufs.put(g.buf)
		g.buf = nil
	}
	if g.own != nil {
		fs.oneCtxs.put(g.own)
		g.own = nil
	}
	return err
}

// flushForLocked writes what is gathered when [off, off+n) reaches it,
// and waits for the writes in flight, so that a read sees them. mu is
// held.
func (f *file) flushForLocked(off int64, n int) error {
	if f.g != nil && f.g.dirty() && (off+int64(n) > f.g.off || f.g.wb != nil && f.g.wb.n > 0) {
		return f.flushLocked()
	}
	return nil
}

// size is the file's size with what is gathered.
func (f *file) size() int64 {
	size := f.f.Size()
	if f.g != nil {
		f.mu.Lock()
		size = max(size, f.g.end())
		f.mu.Unlock()
	}
	return size
}
