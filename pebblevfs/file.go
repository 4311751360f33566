package pebblevfs

import (
	"errors"
	"io"
	"sync"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/nowaitio/nowait/aio"
)

// file is one vfs.File on an aio.File.
//
// Owner: any goroutine (aio.File is safe for concurrent use); mu guards
// the position of Read and Write and the gather buffer (vfs.File's
// writers are sequential in any case).
type file struct {
	fs   *FS
	f    *aio.File
	info vfs.FileInfo // at open: the mode and device, when the name has moved
	key  inode

	mu  sync.Mutex
	pos int64   // where Read and Write go, as os.File's offset
	g   *gather // every writable file's (gather.go)

	ra *readahead // a handle opened for sequential reads (readahead.go); set at open
}

var _ vfs.File = (*file)(nil)

// Write writes p at the position and moves it on.
func (f *file) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.g != nil {
		return f.gatherWrite(p)
	}
	n, err := f.f.WriteAt(p, f.pos)
	f.pos += int64(n)
	return n, err
}

// WriteAt writes p at off (files from OpenReadWrite).
// What is gathered that the write reaches is written first, so that the
// write lands after it, and the buffer is dropped: its partial block would
// be stale.
func (f *file) WriteAt(p []byte, off int64) (int, error) {
	if f.g != nil {
		f.mu.Lock()
		err := f.flushForLocked(off, len(p))
		if f.g.overlaps(off, len(p)) {
			f.g.reset(f.g.end())
		}
		f.g.ws.plainWrite() // the next SyncData must sync it
		f.mu.Unlock()
		if f.fs.recent != nil {
			f.fs.recent.drop(f.key)
		}
		if err != nil {
			return 0, err
		}
	}
	return f.f.WriteAt(p, off)
}

// flush writes what is gathered.
func (f *file) flush() error {
	if f.g == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.flushLocked()
}

// Read reads from the position and moves it on, as io.Reader: the end of
// the file is 0, io.EOF.
func (f *file) Read(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.flushForLocked(f.pos, len(p)); err != nil {
		return 0, err
	}
	n, err := f.readAt(p, f.pos)
	f.pos += int64(n)
	if n > 0 && errors.Is(err, io.EOF) {
		err = nil
	}
	return n, err
}

// ReadAt reads len(p) bytes at off; fewer come with io.EOF.
func (f *file) ReadAt(p []byte, off int64) (int, error) {
	if f.g != nil {
		f.mu.Lock()
		err := f.flushForLocked(off, len(p))
		f.mu.Unlock()
		if err != nil {
			return 0, err
		}
	}
	return f.readAt(p, off)
}

func (f *file) readAt(p []byte, off int64) (int, error) {
	if f.fs.recent != nil && f.fs.recent.read(f.key, p, off) {
		return len(p), nil
	}
	if f.ra != nil {
		return f.ra.readAt(p, off)
	}
	return f.f.ReadAt(p, off)
}

// Close writes what is gathered and closes the handle.
func (f *file) Close() error {
	err := f.flush()
	if f.ra != nil {
		err = errors.Join(err, f.ra.close())
	}
	if f.g != nil {
		err = errors.Join(err, f.g.close(f.fs))
	}
	f.fs.closed(f.key, f)
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Stat describes the file, with the size pebble wrote.
func (f *file) Stat() (vfs.FileInfo, error) {
	info := f.info
	if now, err := vfs.Default.Stat(f.f.Name()); err == nil && inodeOf(now) == f.key {
		info = now // the same inode: its times are current
	}
	return sizedInfo{info, f.size()}, nil
}

// Sync makes the file's data and exact size durable.
func (f *file) Sync() error {
	if err := f.flush(); err != nil {
		return err
	}
	return f.f.Sync()
}

// SyncData makes the file's data, and the size needed to read it, durable.
func (f *file) SyncData() error {
	if err := f.flush(); err != nil {
		return err
	}
	if f.g != nil && f.g.through {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.g.ws.synced() {
			return nil // every write since the last sync was durable when it completed
		}
		_, err := f.own(aio.IOCB{Op: aio.OpFdatasync, File: f.f, Flags: aio.FlagBarrier})
		if err == nil {
			f.g.ws.sync()
		}
		return err
	}
	return f.f.SyncData()
}

// SyncTo promises nothing durable (fullSync false), as sync_file_range
// does on vfs.Default: its use, starting the write-back of dirty pages
// early (pebble's BytesPerSync), is done here already, by write-behind.
// It returns a write in flight that failed.
func (f *file) SyncTo(int64) (fullSync bool, err error) {
	if f.g == nil {
		return false, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return false, f.g.failed()
}

// Preallocate does nothing (see the package documentation: aio preallocates
// ahead of appends itself, and its Allocate would change the size).
func (f *file) Preallocate(offset, length int64) error { return nil }

// Prefetch does nothing: the page cache it would fill is never read here.
func (f *file) Prefetch(offset, length int64) error { return nil }

// Fd returns the runtime's descriptor of the file. pebble uses it to
// advise (fadvise, nothing to direct I/O) and to tell whether SyncTo and
// Preallocate are worth calling; given vfs.InvalidFd, its syncing file
// called Sync instead of SyncTo, a full flush and fdatasync every 512
// KiB of every sstable (BytesPerSync).
func (f *file) Fd() uintptr { return f.f.Fd() }
