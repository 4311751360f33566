package aio

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// File is one handle of a file opened through the runtime. It implements
// io.ReaderAt, io.WriterAt, io.Writer (O_APPEND) and io.Closer, for any
// offset, length and memory alignment. What belongs to the file rather
// than the handle (sizes, map, locks, barriers, the sync error) is its
// inode's, shared with every other handle of the file in the process.
//
// Owner: shared; safe for concurrent use. The fields above life are set
// by Open and read-only after (fixed also by Close, once no I/O is left).
type File struct {
	rt     *Runtime
	name   string
	ino    *inode
	acc    access // what the handle was opened for
	append bool   // O_APPEND: Write appends, WriteAt is refused
	dsync  bool   // O_DSYNC or O_SYNC: every write is FlagDSync
	fixed  int32  // the inode's slot in every ring of rt, or -1

	life lifetime // users: requests submitted and not yet finished; Close waits for them
}

// Open opens name (os.OpenFile's flags and permissions) for I/O through
// the runtime. Regular files and block devices are opened with O_DIRECT;
// where the filesystem refuses it (tmpfs), the file is opened for ordinary
// page-cache I/O instead, which Stats counts in BufferedFiles. (tmpfs
// accepts O_DIRECT since Linux 6.6.)
//
// Every handle of one file in this process, from this Runtime or another,
// shares the file's state (see the package documentation). O_RDONLY
// handles refuse writes and O_WRONLY handles refuse reads, with errors
// that errors.Is syscall.EBADF. With O_APPEND, Write appends at the
// logical end and WriteAt is refused, as os.File does. O_CREATE, O_EXCL
// and O_TRUNC mean what they mean to os.OpenFile (O_TRUNC needs a handle
// opened for writing, else EINVAL). With O_DSYNC or O_SYNC
// every write of the handle is durable when it completes, as with
// FlagDSync (O_SYNC's file timestamps are not synced with it).
func (rt *Runtime) Open(name string, flag int, perm os.FileMode) (*File, error) {
	if rt.life.isClosed() {
		return nil, ErrRuntimeClosed
	}
	acc := accessOf(flag)
	if flag&os.O_TRUNC != 0 && !acc.write {
		// The runtime truncates through its own descriptor, so the
		// kernel's open would not check write permission for it.
		return nil, &os.PathError{Op: "open", Path: name, Err: errTruncReadOnly}
	}
	// The kernel never sees O_APPEND (it would ignore the offsets of the
	// runtime's own writes), O_TRUNC (the truncation goes through the
	// shared state, which other handles may be using), nor O_SYNC and
	// O_DSYNC (the descriptor may be the inode's, shared with handles
	// without them: this handle's writes carry FlagDSync instead).
	kflag := flag &^ (os.O_APPEND | os.O_TRUNC | unix.O_SYNC | unix.O_DSYNC)
	direct := true
	fd, err := openFn(name, kflag|unix.O_DIRECT|unix.O_CLOEXEC, uint32(perm.Perm()))
	if errors.Is(err, unix.EINVAL) {
		direct = false
		fd, err = openFn(name, kflag|unix.O_CLOEXEC, uint32(perm.Perm()))
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	ino, err := attachInode(fd, direct, acc)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	f := &File{rt: rt, name: name, ino: ino, acc: acc, append: flag&os.O_APPEND != 0,
		dsync: flag&unix.O_DSYNC != 0, fixed: -1}
	f.life.init()
	if flag&os.O_TRUNC != 0 {
		if err := f.truncate(0); err != nil {
			ino.detach(rt, name)
			return nil, &os.PathError{Op: "open", Path: name, Err: err}
		}
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if !rt.life.acquire(1) { // released by the file's Close
		ino.detach(rt, name)
		return nil, ErrRuntimeClosed
	}
	rt.registerFixed(f)
	rt.files[f] = struct{}{}
	if !ino.direct {
		rt.stats.bufferedFiles.Add(1)
	}
	return f, nil
}

// openFn is open(2); a test replaces it to make a filesystem refuse O_DIRECT.
var openFn = unix.Open

// Name is the name the file was opened with.
func (f *File) Name() string { return f.name }

// Size is the logical size: what the user has written or set through any
// handle of the file, whatever the runtime preallocated ahead of it.
func (f *File) Size() int64 {
	l, _ := f.ino.sizes()
	return l
}

// opStart counts a request on the file, unless the file is closed: a
// request either is refused or is waited for by Close, never slips in as
// the handle closes (lifetime).
func (f *File) opStart() bool { return f.life.acquire(1) }

func (f *File) opDone() { f.life.release() }

// checkAccess refuses what the handle was not opened for.
func (f *File) checkAccess(op Op, appending bool) error {
	switch {
	case op == OpRead && !f.acc.read:
		return ErrWriteOnly
	case op.spec().modifies && !f.acc.write:
		return ErrReadOnly
	case op == OpWrite && f.append && !appending:
		return ErrAppendWriteAt
	}
	return nil
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

// Write appends p at the logical end of a file opened with O_APPEND
// (io.Writer). Appends through every handle of the file are atomic with
// respect to each other: each gets its own range, none overlaps another.
// An append counts in Size once it has completed; appends running at once
// may complete in any order.
func (f *File) Write(p []byte) (int, error) {
	if !f.append {
		return 0, ErrNotAppend
	}
	if err := f.checkAccess(OpWrite, true); err != nil {
		return 0, err
	}
	if f.life.isClosed() {
		return 0, ErrClosed
	}
	off := f.ino.reserveAppend(int64(len(p)))
	n, err := f.doAppend(p, off)
	if err != nil {
		f.ino.unreserveAppend(off, int64(len(p)))
	} else if n < len(p) {
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
// methods, and the caller-driven ring its fast requests run on (nil past
// the cap, or without io_uring: they go to the shard). Kept in the
// runtime's free list: a blocking call allocates nothing.
//
// Owner: the goroutine that took it from the free list, until it puts it
// back.
type syncCtx struct {
	ctx *Context
	cb  IOCB
	ev  [1]Event
}

// getSyncCtx takes a syncCtx from the free list, or makes one: nil when
// the runtime is closed.
func (rt *Runtime) getSyncCtx() *syncCtx {
	rt.syncMu.Lock()
	if n := len(rt.syncFree); n > 0 {
		sc := rt.syncFree[n-1]
		rt.syncFree = rt.syncFree[:n-1]
		rt.syncMu.Unlock()
		return sc
	}
	withRing := rt.backend == BackendIOUring && rt.callerRings < rt.callerRingsMax
	if withRing {
		rt.callerRings++
	}
	rt.syncMu.Unlock()
	c, err := rt.NewContext(1)
	var own *callerExec
	if err == nil && withRing {
		own, _ = newCallerExec(rt) // none: this one uses the shard
	}
	rt.syncMu.Lock()
	defer rt.syncMu.Unlock()
	if own != nil {
		rt.syncAll = append(rt.syncAll, own)
	} else if withRing {
		rt.callerRings--
	}
	if err != nil {
		return nil
	}
	c.own = own
	return &syncCtx{ctx: c}
}

func (rt *Runtime) putSyncCtx(sc *syncCtx) {
	rt.syncMu.Lock()
	rt.syncFree = append(rt.syncFree, sc)
	rt.syncMu.Unlock()
}

func (f *File) do(op Op, p []byte, off int64, flags Flag) (int, error) {
	return f.doIOCB(IOCB{Op: op, File: f, Buf: p, Offset: off, Flags: flags})
}

// doAppend writes p at off, the range Write reserved for it.
func (f *File) doAppend(p []byte, off int64) (int, error) {
	return f.doIOCB(IOCB{Op: OpWrite, File: f, Buf: p, Offset: off, appended: true})
}

func (f *File) doIOCB(cb IOCB) (int, error) {
	sc := f.rt.getSyncCtx()
	if sc == nil {
		return 0, ErrRuntimeClosed
	}
	defer f.rt.putSyncCtx(sc)
	sc.cb = cb
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
	if err := f.beginSizeChange("truncate", size); err != nil {
		return err
	}
	defer f.opDone()
	if size < 0 {
		return &Error{Op: "truncate", Path: f.name, Offset: size, Err: ErrNegativeOffset}
	}
	return f.truncate(size)
}

func (f *File) truncate(size int64) error {
	ino := f.ino
	if ino.prov.FixedSize() {
		return &Error{Op: "truncate", Path: f.name, Offset: size, Err: unix.EINVAL}
	}
	ino.locks.lockExclusive(size, maxOffset)
	defer ino.locks.unlock(size, maxOffset, true)
	ino.mu.Lock()
	defer ino.mu.Unlock()
	if err := retryEINTR(func() error { return sys.Ftruncate(ino.fd, size) }); err != nil {
		return &Error{Op: "truncate", Path: f.name, Offset: size, Err: err}
	}
	ino.prov.NoteKernelSize(size)
	ino.prov.SetLogicalSize(size)
	ino.appendEnd = size
	return nil
}

// beginSizeChange counts a Truncate or Allocate on the handle (so that
// Close waits for it), or refuses it on a closed handle or runtime, or on
// a handle not opened for writing. The caller calls opDone when it is
// done.
func (f *File) beginSizeChange(op string, off int64) error {
	switch {
	case f.rt.life.isClosed():
		return ErrRuntimeClosed
	case !f.acc.write:
		return &Error{Op: op, Path: f.name, Offset: off, Err: ErrReadOnly}
	case !f.opStart():
		return ErrClosed
	}
	return nil
}

// Allocate allocates storage for [off, off+length), growing the file if
// that lies past its end (like posix_fallocate); the new range reads as
// zeros.
func (f *File) Allocate(off, length int64) error {
	if err := f.beginSizeChange("allocate", off); err != nil {
		return err
	}
	defer f.opDone()
	if off < 0 || length <= 0 || off > maxOffset-length {
		return &Error{Op: "allocate", Path: f.name, Offset: off, Err: unix.EINVAL}
	}
	return f.allocate(off, length)
}

// allocate is Allocate and OpAllocate, with the arguments checked: under
// the range's exclusive lock, so that no write into the range runs beside
// the fallocate.
func (f *File) allocate(off, length int64) error {
	ino := f.ino
	if ino.prov.FixedSize() {
		return nil // a device is all allocated
	}
	ino.locks.lockExclusive(off, off+length)
	defer ino.locks.unlock(off, off+length, true)
	ino.mu.Lock()
	defer ino.mu.Unlock()
	if err := ino.fallocateLocked(off, length); err != nil {
		return &Error{Op: "allocate", Path: f.name, Offset: off, Err: err}
	}
	ino.prov.NoteLogicalEnd(off + length)
	return nil
}

// Close waits for this handle's I/O in flight and closes it. The file's
// last handle in the process also cuts the append-ahead tail back to the
// logical size and closes the descriptor. A second Close returns
// ErrClosed.
func (f *File) Close() error {
	if !f.life.close() {
		return ErrClosed
	}
	f.life.wait()
	f.rt.unregisterFixed(f)
	err := f.ino.detach(f.rt, f.name)
	f.rt.mu.Lock()
	delete(f.rt.files, f)
	f.rt.mu.Unlock()
	if !f.ino.direct {
		f.rt.stats.bufferedFiles.Add(-1)
	}
	f.rt.life.release()
	return err
}

// cutBackLocked truncates the kernel's size back to the logical size when
// append-ahead left it larger, counting it in rt's stats. ino.mu must be
// held and no write may be in flight past the logical size (the caller
// holds the range lock or has drained the file).
func (ino *inode) cutBackLocked(rt *Runtime, name string) error {
	logical, kernel := ino.prov.Sizes()
	if kernel <= logical {
		return nil
	}
	if err := retryEINTR(func() error { return sys.Ftruncate(ino.fd, logical) }); err != nil {
		return &Error{Op: "truncate", Path: name, Offset: logical, Err: err}
	}
	ino.prov.NoteKernelSize(logical)
	rt.stats.cutBacks.Add(1)
	return nil
}

const maxOffset = int64(1<<63 - 1)
