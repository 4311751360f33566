package pebblevfs

import (
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/nowaitio/nowait/aio"
)

// FS is a vfs.FS whose files go through an aio.Runtime and whose
// directories go through the operating system.
//
// Owner: shared; mu guards open.
type FS struct {
	rt *aio.Runtime
	// Free buffers and contexts (pool.go): read-ahead windows and gather
	// buffers; Contexts of depth 1 (read-ahead's, and the WAL's own:
	// readahead.go, gather.go) and of write-behind's depth
	// (writebehind.go).
	raBufs, gatherBufs bufPool
	oneCtxs, wbCtxs    ctxPool
	recent             *recent // the data written last, kept for reads (written.go); nil: none
	mu                 sync.Mutex
	// open holds one open file per inode, for Stat: aio's size is the one
	// pebble wrote, and every handle of an inode in the process shares it.
	open map[inode]*openInode
}

// inode names a file whatever its path (renamed, linked, removed).
type inode struct{ dev, ino uint64 }

// openInode is the inode's handles open here: aio's size is theirs, and
// a gathering handle's is larger by what it has not written yet.
type openInode struct{ files []*file }

// New returns a vfs.FS on rt. The runtime must outlive every file the FS
// opens.
func New(rt *aio.Runtime) vfs.FS { return NewWith(rt, Options{}) }

// Options are an FS's choices beyond New's defaults.
type Options struct {
	// WrittenCache is how many bytes of the sstable and blob data the FS
	// wrote last it keeps readable from memory (written.go); 0 keeps
	// none. Count it with pebble's block cache: it is memory the same way.
	WrittenCache int64
}

// NewWith returns a vfs.FS on rt with opts.
func NewWith(rt *aio.Runtime, opts Options) vfs.FS {
	fs := &FS{rt: rt, open: map[inode]*openInode{},
		raBufs: bufPool{size: raMax}, gatherBufs: bufPool{size: gatherSize},
		oneCtxs: ctxPool{depth: 1}, wbCtxs: ctxPool{depth: wbDepth}}
	if opts.WrittenCache > 0 {
		fs.recent = &recent{budget: opts.WrittenCache, pool: &fs.gatherBufs, files: map[inode][]chunk{}}
	}
	return fs
}

var _ vfs.FS = (*FS)(nil)

// Create makes name anew: an existing file is removed first, so that the
// new file is a new inode (hard links to the old one keep it), as
// vfs.Default does.
func (fs *FS) Create(name string, _ vfs.DiskWriteCategory) (vfs.File, error) {
	const flags = os.O_RDWR | os.O_CREATE | os.O_EXCL | syscall.O_CLOEXEC
	for {
		f, err := fs.openFile(name, flags, gathers(name))
		if !errors.Is(err, os.ErrExist) {
			return f, err
		}
		if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
}

// Open opens name for reading.
func (fs *FS) Open(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	return fs.openWith(name, os.O_RDONLY|syscall.O_CLOEXEC, opts)
}

// OpenReadWrite opens name for reading and writing, creating it if need be.
func (fs *FS) OpenReadWrite(name string, _ vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	return fs.openWith(name, os.O_RDWR|os.O_CREATE|syscall.O_CLOEXEC, opts)
}

// ReuseForWrite renames oldname to newname and opens it for writing,
// without truncating it.
func (fs *FS) ReuseForWrite(oldname, newname string, _ vfs.DiskWriteCategory) (vfs.File, error) {
	if err := os.Rename(oldname, newname); err != nil {
		return nil, err
	}
	f, err := fs.openFile(newname, os.O_RDWR|os.O_CREATE|syscall.O_CLOEXEC, gathers(newname))
	if err == nil && f.g.through {
		f.g.recycled = true // a write-ahead log's old records (gather.go)
	}
	return f, err
}

func (fs *FS) openWith(name string, flags int, opts []vfs.OpenOption) (vfs.File, error) {
	f, err := fs.openFile(name, flags, false)
	if err != nil {
		return nil, err
	}
	for _, o := range opts {
		if o == vfs.SequentialReadsOption && f.g == nil && f.ra == nil {
			if f.ra, err = newReadahead(fs, f.f); err != nil {
				f.Close()
				return nil, err
			}
		}
		o.Apply(f)
	}
	return f, nil
}

// gathers reports whether a file pebble creates under name gathers its
// writes (gather.go): every kind but the write-ahead log.
func gathers(name string) bool { return !isWAL(name) }

// isWAL reports whether name is a write-ahead log's.
func isWAL(name string) bool { return strings.HasSuffix(name, ".log") }

// openFile opens name through the runtime and counts it by inode. A
// writable file has a gather buffer (gather.go): gathering, it writes at
// Sync and Close; otherwise after every Write.
func (fs *FS) openFile(name string, flags int, gathering bool) (*file, error) {
	af, err := fs.rt.Open(name, flags, 0o666)
	if err != nil {
		return nil, err
	}
	info, err := vfs.Default.Stat(name)
	if err != nil {
		af.Close()
		return nil, err
	}
	f := &file{fs: fs, f: af, info: info, key: inodeOf(info)}
	if flags&(os.O_WRONLY|os.O_RDWR) != 0 {
		f.g = &gather{through: !gathering}
		if gathering || isWAL(name) {
			f.g.wb = &writeBehind{fs: fs}
		}
		if fs.recent != nil {
			fs.recent.drop(f.key) // another file's, or about to change
			f.g.keep = gathering && cacheable(name)
		}
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	o := fs.open[f.key]
	if o == nil {
		o = &openInode{}
		fs.open[f.key] = o
	}
	o.files = append(o.files, f)
	return f, nil
}

// closed forgets one handle of key.
func (fs *FS) closed(key inode, af *file) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	o := fs.open[key]
	if o == nil {
		return
	}
	for i, h := range o.files {
		if h == af {
			o.files = append(o.files[:i], o.files[i+1:]...)
			break
		}
	}
	if len(o.files) == 0 {
		delete(fs.open, key)
	}
}

// sizeOf reports the size pebble wrote to the inode key, if a handle of it
// is open here.
func (fs *FS) sizeOf(key inode) (int64, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if o := fs.open[key]; o != nil {
		size := int64(0)
		for _, f := range o.files {
			size = max(size, f.size())
		}
		return size, true
	}
	return 0, false
}

// Stat describes name; for a file open here, with the size pebble wrote.
func (fs *FS) Stat(name string) (vfs.FileInfo, error) {
	info, err := vfs.Default.Stat(name)
	if err != nil || info.IsDir() {
		return info, err
	}
	if size, ok := fs.sizeOf(inodeOf(info)); ok {
		return sizedInfo{info, size}, nil
	}
	return info, nil
}

// OpenDir opens a directory for Sync, through the operating system.
func (fs *FS) OpenDir(name string) (vfs.File, error) { return vfs.Default.OpenDir(name) }

// Link, Remove, RemoveAll, Rename, MkdirAll, Lock, List, GetDiskUsage and
// the path functions are the operating system's, through vfs.Default.

func (fs *FS) Link(oldname, newname string) error { return vfs.Default.Link(oldname, newname) }

// Remove removes name, and forgets the data of it the FS kept
// (written.go).
func (fs *FS) Remove(name string) error {
	if fs.recent != nil {
		if info, err := vfs.Default.Stat(name); err == nil {
			defer fs.recent.drop(inodeOf(info))
		}
	}
	return vfs.Default.Remove(name)
}

// RemoveAll removes name and everything under it, and forgets all the
// data the FS kept (it does not know which inodes were under name).
func (fs *FS) RemoveAll(name string) error {
	if fs.recent != nil {
		defer fs.recent.dropAll()
	}
	return vfs.Default.RemoveAll(name)
}

// Rename renames oldname to newname, and forgets the data kept of a file
// newname named before (removed by the rename).
func (fs *FS) Rename(oldname, newname string) error {
	if fs.recent != nil {
		if info, err := vfs.Default.Stat(newname); err == nil {
			defer fs.recent.drop(inodeOf(info))
		}
	}
	return vfs.Default.Rename(oldname, newname)
}
func (fs *FS) MkdirAll(dir string, perm os.FileMode) error {
	return vfs.Default.MkdirAll(dir, perm)
}
func (fs *FS) Lock(name string) (io.Closer, error) { return vfs.Default.Lock(name) }
func (fs *FS) List(dir string) ([]string, error)   { return vfs.Default.List(dir) }
func (fs *FS) PathBase(path string) string         { return vfs.Default.PathBase(path) }
func (fs *FS) PathJoin(elem ...string) string      { return vfs.Default.PathJoin(elem...) }
func (fs *FS) PathDir(path string) string          { return vfs.Default.PathDir(path) }
func (fs *FS) GetDiskUsage(path string) (vfs.DiskUsage, error) {
	return vfs.Default.GetDiskUsage(path)
}

// Unwrap returns nil: this FS wraps no other vfs.FS (it wraps a runtime).
func (fs *FS) Unwrap() vfs.FS { return nil }

// sizedInfo is a FileInfo with the size aio knows.
type sizedInfo struct {
	vfs.FileInfo
	size int64
}

func (s sizedInfo) Size() int64 { return s.size }

func inodeOf(info vfs.FileInfo) inode {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return inode{dev: st.Dev, ino: st.Ino}
	}
	return inode{}
}
