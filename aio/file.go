package aio

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/aio/internal/inode"
	"github.com/nowaitio/nowait/aio/internal/req"
)

// File is one handle of a file opened through the runtime: io.ReaderAt,
// io.WriterAt, io.Writer (O_APPEND) and io.Closer, for any offset, length
// and memory alignment. What belongs to the file is its inode's, shared
// with every handle. Owner: shared; the fields above life are set by
// Open and read-only after.
type File struct {
	rt     *Runtime
	name   string
	ino    *inode.Inode
	acc    inode.Access // what the handle was opened for
	append bool         // O_APPEND: Write appends, WriteAt is refused
	dsync  bool         // O_DSYNC or O_SYNC: every write is FlagDSync

	life req.Lifetime // users: requests submitted and not yet finished; Close waits for them
}

// Open opens name (os.OpenFile's flags and permissions) for I/O through
// the runtime: regular files and block devices with O_DIRECT, or where
// the filesystem refuses it (tmpfs before Linux 6.6) for page-cache I/O
// (Stats.BufferedFiles). Handles of one file share its state (the package
// documentation). O_CREATE, O_EXCL and O_TRUNC mean what they mean to
// os.OpenFile; with O_APPEND, Write appends at the logical end; with
// O_DSYNC or O_SYNC every write is durable when it completes (FlagDSync).
func (rt *Runtime) Open(name string, flag int, perm os.FileMode) (*File, error) {
	if rt.life.IsClosed() {
		return nil, ErrRuntimeClosed
	}
	acc := inode.AccessOf(flag)
	if flag&os.O_TRUNC != 0 && !acc.Write {
		// The runtime truncates through its own descriptor, so the
		// kernel's open would not check write permission for it.
		return nil, &os.PathError{Op: "open", Path: name, Err: errTruncReadOnly}
	}
	// The kernel never sees O_APPEND (it would ignore the runtime's own
	// offsets), O_TRUNC (done through the shared state), O_SYNC or
	// O_DSYNC (the descriptor is shared: the handle's writes carry
	// FlagDSync instead).
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
	ino, err := inode.Attach(fd, direct, acc)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	f := &File{rt: rt, name: name, ino: ino, acc: acc, append: flag&os.O_APPEND != 0,
		dsync: flag&unix.O_DSYNC != 0}
	f.life.Init()
	if flag&os.O_TRUNC != 0 {
		if err := ino.Truncate(name, 0); err != nil {
			ino.Detach(name, &rt.stats.CutBacks)
			return nil, &os.PathError{Op: "open", Path: name, Err: err}
		}
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if !rt.life.Acquire(1) { // released by the file's Close
		ino.Detach(name, &rt.stats.CutBacks)
		return nil, ErrRuntimeClosed
	}
	rt.files[f] = struct{}{}
	if !ino.Direct {
		rt.stats.BufferedFiles.Add(1)
	}
	return f, nil
}

// openFn is open(2); a test replaces it to make a filesystem refuse O_DIRECT.
var openFn = unix.Open

// Name is the name the file was opened with.
func (f *File) Name() string { return f.name }

// Fd is the descriptor the runtime's I/O on the file uses (shared by the
// inode's handles in the process), for calls that only look or advise:
// fstat, fadvise, flock. Reads, writes and size changes through it go
// around the runtime, whose map and sizes would not know of them. It is
// valid until the file's last handle is closed.
func (f *File) Fd() uintptr { return uintptr(f.ino.Fd) }

// Size is the logical size: what the user has written or set through any
// handle of the file, whatever the runtime preallocated ahead of it.
func (f *File) Size() int64 {
	l, _ := f.ino.Sizes()
	return l
}

// opStart counts a request on the file, unless it is closed.
func (f *File) opStart() bool { return f.life.Acquire(1) }

func (f *File) opDone() { f.life.Release() }

// checkAccess refuses what the handle was not opened for.
func (f *File) checkAccess(op Op, appending bool) error {
	switch {
	case op == OpRead && !f.acc.Read:
		return ErrWriteOnly
	case op.Modifies() && !f.acc.Write:
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
	if f.life.IsClosed() {
		return 0, ErrClosed
	}
	off := f.ino.ReserveAppend(int64(len(p)))
	n, err := f.doIOCB(IOCB{Op: OpWrite, File: f, Buf: p, Offset: off, appended: true})
	if err != nil {
		f.ino.UnreserveAppend(off, int64(len(p)))
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

func (f *File) do(op Op, p []byte, off int64, flags Flag) (int, error) {
	return f.doIOCB(IOCB{Op: op, File: f, Buf: p, Offset: off, Flags: flags})
}

// Close waits for this handle's I/O in flight and closes it. The file's
// last handle in the process also cuts the append-ahead tail back to the
// logical size and closes the descriptor. A second Close returns
// ErrClosed.
func (f *File) Close() error {
	if !f.life.Close() {
		return ErrClosed
	}
	f.life.Wait() // requests in a ring no one reaps are the helper's to reap
	err := f.ino.Detach(f.name, &f.rt.stats.CutBacks)
	f.rt.mu.Lock()
	delete(f.rt.files, f)
	f.rt.mu.Unlock()
	if !f.ino.Direct {
		f.rt.stats.BufferedFiles.Add(-1)
	}
	f.rt.life.Release()
	return err
}
