package aio

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/bio"
	"github.com/nowaitio/nowait/iomap"
)

// File is a file opened through the runtime. It implements io.ReaderAt,
// io.WriterAt and io.Closer, for any offset, length and memory alignment.
//
// Owner: shared; safe for concurrent use. Its I/O state is in atomics, the
// range locks and the iomap provider (each with its own lock); mu guards
// size changes and the sticky sync error.
type File struct {
	rt     *Runtime
	name   string
	fd     int
	fixed  int32         // slot in every shard's fixed-file table, or -1 (set by Open and Close)
	direct bool          // opened with O_DIRECT
	prov   *iomap.File   // regular files: sizes and the map
	dev    *iomap.Device // block devices
	align  bio.Alignment // what the kernel needs for I/O on fd
	block  int64         // filesystem block (RMW unit in unwritten storage)
	locks  rangeLock

	writes atomic.Int64 // writes submitted and not yet finished (for barriers)
	ops    atomic.Int64 // requests submitted and not yet finished (for Close)
	closed atomic.Bool
	// noNowait: the filesystem refuses RWF_NOWAIT for this file
	// (EOPNOTSUPP, as tmpfs does); I/O goes to the ring without it, and
	// io_uring runs it from its own workers rather than blocking submission.
	noNowait atomic.Bool

	barrierMu sync.Mutex
	parked    []*request  // barrier fsyncs waiting for earlier writes to drain
	held      []*request  // writes submitted while a barrier drains: they wait for it
	draining  atomic.Bool // a barrier is parked (read without the lock on Submit)

	mu         sync.Mutex // size changes: extension, cut-back, truncate, allocate
	step       int64      // current append-ahead step (guarded by mu)
	lastExtend time.Time  // (guarded by mu)
	syncErr    error      // sticky: the first failed sync (guarded by mu)
}

// Open opens name (os.OpenFile's flags and permissions) for I/O through
// the runtime. Regular files and block devices are opened with O_DIRECT;
// where the filesystem refuses it (tmpfs), the file is opened for ordinary
// page-cache I/O instead, which Stats counts in BufferedFiles. (tmpfs
// accepts O_DIRECT since Linux 6.6.)
func (rt *Runtime) Open(name string, flag int, perm os.FileMode) (*File, error) {
	if rt.closed.Load() {
		return nil, ErrClosed
	}
	flag &^= os.O_APPEND // appends are writes at Size(): O_APPEND would ignore the offset
	direct := true
	fd, err := openFn(name, flag|unix.O_DIRECT|unix.O_CLOEXEC, uint32(perm.Perm()))
	if errors.Is(err, unix.EINVAL) {
		direct = false
		fd, err = openFn(name, flag|unix.O_CLOEXEC, uint32(perm.Perm()))
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	f, err := rt.newFile(name, fd, direct)
	if err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed.Load() {
		unix.Close(fd)
		return nil, ErrClosed
	}
	rt.registerFixed(f)
	rt.files[f] = struct{}{}
	if !direct {
		rt.stats.bufferedFiles.Add(1)
	}
	return f, nil
}

func (rt *Runtime) newFile(name string, fd int, direct bool) (*File, error) {
	f := &File{rt: rt, name: name, fd: fd, fixed: -1, direct: direct, block: 4096, step: rt.cfg.AppendStepMin}
	f.locks.init()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFBLK:
		d, err := iomap.NewDevice(fd)
		if err != nil {
			return nil, err
		}
		f.dev = d
		f.align = bio.Alignment{Offset: 512, Memory: 512}
		if sz, err := unix.IoctlGetInt(fd, unix.BLKSSZGET); err == nil && sz > 0 {
			f.align = bio.Alignment{Offset: int64(sz), Memory: int64(sz)}
		}
		f.block = f.align.Offset
	case unix.S_IFREG:
		p, err := iomap.NewFile(fd)
		if err != nil {
			return nil, err
		}
		f.prov = p
		f.block = p.BlockSize()
		if direct {
			off, mem := p.DIOAlign()
			f.align = bio.Alignment{Offset: off, Memory: mem}
		} else {
			f.align = bio.Alignment{Offset: 1, Memory: 1}
		}
	default:
		return nil, fmt.Errorf("not a regular file or block device (mode %#o)", st.Mode)
	}
	return f, nil
}

// openFn is open(2); a test replaces it to make a filesystem refuse O_DIRECT.
var openFn = unix.Open

// Name is the name the file was opened with.
func (f *File) Name() string { return f.name }

// Size is the logical size: what the user has written or set, whatever the
// runtime preallocated ahead of it.
func (f *File) Size() int64 {
	if f.dev != nil {
		return f.dev.Size()
	}
	l, _ := f.prov.Sizes()
	return l
}

func (f *File) sizes() (logical, kernel int64) {
	if f.dev != nil {
		return f.dev.Size(), f.dev.Size()
	}
	return f.prov.Sizes()
}

// opStart counts a request on the file, unless the file is closed. Counting
// first and looking at closed second pairs with Close, which sets closed
// first and waits for the count second: a request either sees closed or is
// waited for, never slips in as the descriptor closes.
func (f *File) opStart() bool {
	f.ops.Add(1)
	if f.closed.Load() {
		f.opDone()
		return false
	}
	return true
}

func (f *File) opDone() { f.ops.Add(-1) }

// admitWrite counts a new write, or holds it back while a barrier fsync
// waits for the writes before it: without that, a steady stream of new
// writes would keep the barrier waiting for ever. It reports whether the
// write may go now.
func (f *File) admitWrite(r *request) bool {
	if f.draining.Load() {
		f.barrierMu.Lock()
		if f.draining.Load() {
			f.held = append(f.held, r)
			f.barrierMu.Unlock()
			return false
		}
		f.barrierMu.Unlock()
	}
	f.writes.Add(1)
	return true
}

// writeDone releases the parked barrier fsyncs once no earlier write is in
// flight, then the writes held behind them.
func (f *File) writeDone() {
	if f.writes.Add(-1) != 0 {
		return
	}
	f.barrierMu.Lock()
	if f.writes.Load() != 0 || len(f.parked) == 0 {
		f.barrierMu.Unlock()
		return
	}
	barriers, held := f.parked, f.held
	f.parked, f.held = nil, nil
	f.draining.Store(false)
	f.writes.Add(int64(len(held)))
	f.barrierMu.Unlock()
	for _, r := range barriers {
		f.rt.resubmit(r)
	}
	for _, r := range held {
		f.rt.resubmit(r)
	}
}

// parkBehindWrites parks a barrier fsync while earlier writes are in
// flight; it reports false when there are none and the fsync may go now.
func (f *File) parkBehindWrites(r *request) bool {
	f.barrierMu.Lock()
	defer f.barrierMu.Unlock()
	if f.writes.Load() == 0 {
		return false
	}
	f.parked = append(f.parked, r)
	f.draining.Store(true)
	return true
}

// stickySyncErr is the error of the first failed sync, if any: after a
// failed fsync the kernel may have dropped the dirty data, so a later
// fsync that "succeeds" proves nothing (PostgreSQL's fsyncgate).
func (f *File) stickySyncErr() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.syncErr
}

func (f *File) setSyncErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.syncErr == nil {
		f.syncErr = err
	}
}

// ReadAt reads len(p) bytes at off (io.ReaderAt): n < len(p) comes with
// io.EOF at the end of the file.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.do(OpRead, p, off, 0)
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
}

// WriteAt writes p at off (io.WriterAt); it returns an error when n < len(p).
func (f *File) WriteAt(p []byte, off int64) (int, error) {
	n, err := f.do(OpWrite, p, off, 0)
	if err == nil && n < len(p) {
		err = &Error{Op: "write", Path: f.name, Offset: off + int64(n), Err: io.ErrShortWrite}
	}
	return n, err
}

// Sync makes the file's data and its exact logical size durable, after
// every write submitted before it has completed: the append-ahead tail is
// cut back to the logical size first.
func (f *File) Sync() error {
	_, err := f.do(OpFsync, nil, 0, FlagBarrier)
	return err
}

// SyncData makes the file's data durable (fdatasync), after every write
// submitted before it has completed. The size on disk may still include the
// append-ahead tail (zeros) until Sync or Close.
func (f *File) SyncData() error {
	_, err := f.do(OpFdatasync, nil, 0, FlagBarrier)
	return err
}

// syncCtx is a one-slot context with its IOCB and event, for the blocking
// methods. Pooled: a blocking call allocates nothing.
type syncCtx struct {
	ctx *Context
	cb  IOCB
	ev  [1]Event
}

func (rt *Runtime) newSyncCtx() *syncCtx {
	c, err := rt.NewContext(1)
	if err != nil {
		return nil
	}
	return &syncCtx{ctx: c}
}

func (f *File) do(op Op, p []byte, off int64, flags Flag) (int, error) {
	sc, _ := f.rt.syncCtxs.Get().(*syncCtx)
	if sc == nil {
		return 0, ErrClosed
	}
	defer f.rt.syncCtxs.Put(sc)
	sc.cb = IOCB{Op: op, File: f, Buf: p, Offset: off, Flags: flags}
	if _, err := sc.ctx.Submit(&sc.cb); err != nil {
		sc.cb = IOCB{}
		return 0, err
	}
	if _, err := sc.ctx.GetEvents(1, sc.ev[:], -1); err != nil {
		return 0, err
	}
	ev := sc.ev[0]
	sc.cb, sc.ev[0] = IOCB{}, Event{}
	return ev.N, ev.Err
}

// Truncate sets the logical size, waiting for I/O in flight beyond the new
// size. Growing the file reads as zeros.
func (f *File) Truncate(size int64) error {
	if f.closed.Load() || f.rt.closed.Load() {
		return ErrClosed
	}
	if size < 0 {
		return &Error{Op: "truncate", Path: f.name, Offset: size, Err: ErrNegativeOffset}
	}
	if f.dev != nil {
		return &Error{Op: "truncate", Path: f.name, Offset: size, Err: unix.EINVAL}
	}
	f.locks.lockExclusive(size, maxOffset)
	defer f.locks.unlock(size, maxOffset, true)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := unix.Ftruncate(f.fd, size); err != nil {
		return &Error{Op: "truncate", Path: f.name, Offset: size, Err: err}
	}
	f.prov.NoteKernelSize(size)
	f.prov.SetLogicalSize(size)
	return nil
}

// Allocate allocates storage for [off, off+length), growing the file if
// that lies past its end (like posix_fallocate); the new range reads as
// zeros.
func (f *File) Allocate(off, length int64) error {
	if f.closed.Load() || f.rt.closed.Load() {
		return ErrClosed
	}
	if off < 0 || length <= 0 || off > maxOffset-length {
		return &Error{Op: "allocate", Path: f.name, Offset: off, Err: unix.EINVAL}
	}
	if f.dev != nil {
		return nil // a device is all allocated
	}
	f.locks.lockExclusive(off, off+length)
	defer f.locks.unlock(off, off+length, true)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := unix.Fallocate(f.fd, 0, off, length); err != nil {
		return &Error{Op: "allocate", Path: f.name, Offset: off, Err: err}
	}
	f.prov.NoteAllocated(off, length, false)
	f.prov.NoteLogicalEnd(off + length)
	return nil
}

// Close waits for the file's I/O in flight, cuts the append-ahead tail back
// to the logical size, and closes the file. A second Close returns
// ErrClosed.
func (f *File) Close() error {
	if !f.closed.CompareAndSwap(false, true) {
		return ErrClosed
	}
	for f.ops.Load() != 0 {
		time.Sleep(100 * time.Microsecond)
	}
	var err error
	if f.prov != nil {
		f.mu.Lock()
		err = f.cutBackLocked()
		f.mu.Unlock()
	}
	f.rt.unregisterFixed(f)
	if cerr := unix.Close(f.fd); cerr != nil && err == nil {
		err = &Error{Op: "close", Path: f.name, Err: cerr}
	}
	f.rt.mu.Lock()
	delete(f.rt.files, f)
	f.rt.mu.Unlock()
	if !f.direct {
		f.rt.stats.bufferedFiles.Add(-1)
	}
	return err
}

// cutBackLocked truncates the kernel's size back to the logical size when
// append-ahead left it larger. f.mu must be held and no write may be in
// flight past the logical size (the caller holds the range lock or has
// drained the file).
func (f *File) cutBackLocked() error {
	logical, kernel := f.prov.Sizes()
	if kernel <= logical {
		return nil
	}
	if err := unix.Ftruncate(f.fd, logical); err != nil {
		return &Error{Op: "truncate", Path: f.name, Offset: logical, Err: err}
	}
	f.prov.NoteKernelSize(logical)
	f.rt.stats.cutBacks.Add(1)
	return nil
}

const maxOffset = int64(1<<63 - 1)
