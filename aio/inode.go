package aio

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/bio"
	"github.com/nowaitio/nowait/iomap"
)

// inode is everything that belongs to a file rather than to one handle of
// it: the descriptor all I/O goes through, the iomap provider and its
// extent map, the range locks, the logical size, append-ahead, barrier
// ordering and the sticky sync error. Every handle of the file in this
// process, from any Runtime, points at the same inode, so their
// read-modify-writes, cut-backs and sizes agree (the kernel's inode plays
// this part for its own page cache).
//
// Owner: shared by every handle's goroutines, the shards and the workers.
// The fields above locks are set when the inode is made and read-only
// after; the rest say what guards them. refs and gone belong to the
// registry (inodes.mu).
type inode struct {
	key      inodeKey
	fd       int            // the descriptor every handle's I/O uses
	readable bool           // fd was opened for reading (O_RDONLY or O_RDWR)
	writable bool           // fd was opened for writing (O_WRONLY or O_RDWR)
	direct   bool           // fd has O_DIRECT
	prov     iomap.Provider // the map and the sizes: iomap.File, or iomap.Device for a block device
	align    bio.Alignment  // what the kernel needs for I/O on fd
	block    int64          // filesystem block (RMW unit in unwritten storage)

	locks rangeLock
	// dataEnd bounds where the file can hold data: no byte at or past it
	// does. It starts at the kernel's size at open and is raised before
	// any write is issued, under that write's range lock; it is never
	// lowered (a truncation leaves zeros). A read-modify-write whose edge
	// unit starts inside the write and ends past it zero-fills the rest of
	// the unit instead of reading it when that rest lies past dataEnd: a
	// sequential writer rewriting its partial last block reads nothing.
	// The logical size cannot serve: a completed write's range lock is
	// released before its size is counted.
	dataEnd atomic.Int64
	// noNowait: the filesystem refuses RWF_NOWAIT for this file
	// (EOPNOTSUPP, as tmpfs does); I/O goes to the ring without it, and
	// io_uring runs it from its own workers rather than blocking submission.
	noNowait atomic.Bool

	writes    atomic.Int64 // writes submitted through any handle and not yet finished (for barriers)
	barrierMu sync.Mutex
	parked    []*request  // barrier fsyncs waiting for earlier writes to drain
	held      []*request  // writes submitted while a barrier drains: they wait for it
	draining  atomic.Bool // a barrier is parked (read without the lock on Submit)

	// lastSyncData is when an fdatasync of the file last completed (unix
	// ns; 0: never): a file synced so as it grows gets its append-ahead
	// written with zeros (zeroAheadLocked).
	lastSyncData atomic.Int64

	mu         sync.Mutex // size changes: extension, cut-back, truncate, allocate, append reservations
	step       int64      // current append-ahead step (guarded by mu)
	lastExtend time.Time  // (guarded by mu)
	appendEnd  int64      // end of the last reserved append (guarded by mu)

	// syncErr is sticky: the first failed sync. An atomic, not under mu:
	// Submit reads it, and mu is held across fallocate and ftruncate.
	syncErr atomic.Pointer[syncFailure]

	refs int           // open handles (guarded by inodes.mu)
	gone chan struct{} // made when refs reaches 0, closed once the last Close is done
}

// inodeKey names a file in this process: its device and inode number, or
// for a block device the device it is (two device nodes of one disk are
// one disk).
type inodeKey struct {
	dev, ino uint64
	blockDev bool
}

// inodes is the process-wide table of open inodes: two Runtimes in one
// process share it, as two handles of one Runtime do.
var inodes struct {
	mu sync.Mutex
	m  map[inodeKey]*inode
}

// access is what a handle was opened for.
type access struct{ read, write bool }

func accessOf(flag int) access {
	switch flag & unix.O_ACCMODE {
	case unix.O_WRONLY:
		return access{write: true}
	case unix.O_RDWR:
		return access{read: true, write: true}
	}
	return access{read: true}
}

// attachInode finds the inode of the open descriptor fd (opened with the
// handle's access mode, and O_DIRECT when direct), or makes it, and counts
// a handle on it. It takes fd: the inode keeps it or closes it.
func attachInode(fd int, direct bool, acc access) (*inode, error) {
	key, err := keyOf(fd)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	ino, err := shareInode(key, acc)
	if ino != nil || err != nil {
		unix.Close(fd) // the inode's descriptor does this handle's I/O
		return ino, err
	}
	// inodes.mu is held: a new inode is made under it (one statx and one
	// FIEMAP), so that two Opens of one new file cannot make two.
	defer inodes.mu.Unlock()
	ino, err = newInode(key, fd, direct, acc)
	if err != nil {
		return nil, err
	}
	if inodes.m == nil {
		inodes.m = map[inodeKey]*inode{}
	}
	ino.refs = 1
	inodes.m[key] = ino
	return ino, nil
}

// keyOf names the file of fd, refusing what is neither a regular file nor
// a block device.
func keyOf(fd int) (inodeKey, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return inodeKey{}, err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFBLK:
		return inodeKey{dev: st.Rdev, blockDev: true}, nil
	case unix.S_IFREG:
		return inodeKey{dev: st.Dev, ino: st.Ino}, nil
	}
	return inodeKey{}, fmt.Errorf("not a regular file or block device (mode %#o)", st.Mode)
}

// shareInode counts a new handle on the open inode of key. When there is
// none, it returns nil with inodes.mu held, for the caller to make it.
// When the inode's last Close is running, it waits for it, then looks
// again.
func shareInode(key inodeKey, acc access) (*inode, error) {
	for {
		inodes.mu.Lock()
		ino := inodes.m[key]
		if ino == nil {
			return nil, nil
		}
		if ino.refs == 0 {
			gone := ino.gone
			inodes.mu.Unlock()
			<-gone
			continue
		}
		defer inodes.mu.Unlock()
		if err := ino.covers(acc); err != nil {
			return nil, err
		}
		ino.refs++
		return ino, nil
	}
}

// newInode makes the inode of fd. Its own descriptor is opened for reading
// and writing where the file allows it, so that every later handle,
// whatever its mode, can use it, and a write-only handle can still read
// the edges of a read-modify-write; where it does not, the handle's
// descriptor is kept as it is.
func newInode(key inodeKey, fd int, direct bool, acc access) (*inode, error) {
	ino := &inode{key: key, fd: fd, readable: acc.read, writable: acc.write, direct: direct}
	ino.locks.init()
	if !(acc.read && acc.write) {
		if rw, err := reopenRW(fd, direct); err == nil {
			unix.Close(fd)
			ino.fd, ino.readable, ino.writable = rw, true, true
		}
	}
	if err := ino.setUpMap(key.blockDev); err != nil {
		unix.Close(ino.fd)
		return nil, err
	}
	_, kernel := ino.prov.Sizes()
	ino.dataEnd.Store(kernel)
	return ino, nil
}

// reopenRW opens the file of fd again, for reading and writing: through
// /proc/self/fd, which names the inode itself, so a rename or unlink since
// the handle's open changes nothing.
func reopenRW(fd int, direct bool) (int, error) {
	flag := unix.O_RDWR | unix.O_CLOEXEC
	if direct {
		flag |= unix.O_DIRECT
	}
	for {
		rw, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", fd), flag, 0)
		if err != unix.EINTR {
			return rw, err
		}
	}
}

// setUpMap chooses the provider by the file's kind; nothing after this
// asks which it is.
func (ino *inode) setUpMap(blockDev bool) error {
	var err error
	if blockDev {
		ino.prov, err = iomap.NewDevice(ino.fd)
	} else {
		ino.prov, err = iomap.NewFile(ino.fd)
	}
	if err != nil {
		return err
	}
	ino.block = ino.prov.BlockSize()
	if ino.direct {
		off, mem := ino.prov.DIOAlign()
		ino.align = bio.Alignment{Offset: off, Memory: mem}
	} else {
		ino.align = bio.Alignment{Offset: 1, Memory: 1}
	}
	return nil
}

// covers says whether the inode's descriptor can do what a new handle
// was opened for. It cannot only when the first handle could not reopen
// the file for both (no permission then) and the permissions changed
// since: the kernel let this handle open, the runtime's descriptor cannot
// serve it.
func (ino *inode) covers(acc access) error {
	missing := ""
	switch {
	case acc.read && !ino.readable:
		missing = "read"
	case acc.write && !ino.writable:
		missing = "write"
	default:
		return nil
	}
	return fmt.Errorf("aio: the file is open through the runtime without %s access (its first handle could not reopen it for reading and writing); close its other handles first: %w", missing, unix.EACCES)
}

// detach drops a handle. The last one cuts the append-ahead tail back to
// the logical size and closes the descriptor; until it is done, an Open
// of the same file waits, so that it never reads the sizes half cut back.
func (ino *inode) detach(rt *Runtime, name string) error {
	inodes.mu.Lock()
	ino.refs--
	if ino.refs > 0 {
		inodes.mu.Unlock()
		return nil
	}
	ino.gone = make(chan struct{})
	inodes.mu.Unlock()

	var err error
	if !ino.prov.FixedSize() {
		ino.mu.Lock()
		err = ino.cutBackLocked(rt, name)
		ino.mu.Unlock()
	}
	if cerr := unix.Close(ino.fd); cerr != nil && err == nil {
		err = &Error{Op: "close", Path: name, Err: cerr}
	}
	inodes.mu.Lock()
	delete(inodes.m, ino.key)
	inodes.mu.Unlock()
	close(ino.gone)
	return err
}

// sizes returns the logical size and the kernel's size.
func (ino *inode) sizes() (logical, kernel int64) { return ino.prov.Sizes() }

// nowaitFlag is RWF_NOWAIT, unless the file's filesystem refuses it.
func (ino *inode) nowaitFlag() bio.Flags {
	if ino.noNowait.Load() {
		return 0
	}
	return bio.NoWait
}
