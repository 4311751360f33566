package inode

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/bio"
	"github.com/nowaitio/nowait/iomap"
)

// Inode is everything that belongs to a file rather than to one handle of
// it: the descriptor all I/O goes through, the map, the range locks, the
// sizes and append-ahead, barriers and the sticky sync error. Every handle
// of the file in the process, from any Runtime, shares it (the kernel's
// inode plays this part for its own page cache).
//
// Owner: shared. The fields above Locks are set when the Inode is made
// and read-only after; the rest say what guards them; refs and gone
// belong to the registry (inodes.mu).
type Inode struct {
	key      key
	Fd       int            // the descriptor every handle's I/O uses
	Readable bool           // Fd was opened for reading (O_RDONLY or O_RDWR)
	Writable bool           // Fd was opened for writing (O_WRONLY or O_RDWR)
	Direct   bool           // Fd has O_DIRECT
	Prov     iomap.Provider // the map and the sizes: iomap.File, or iomap.Device for a block device
	Align    bio.Alignment  // what the kernel needs for I/O on Fd
	Block    int64          // filesystem block (RMW unit in unwritten storage)

	Locks RangeLock
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
	// NoNowait: the filesystem refuses RWF_NOWAIT for this file
	// (EOPNOTSUPP, as tmpfs does); I/O goes to the ring without it, and
	// io_uring runs it from its own workers rather than blocking submission.
	NoNowait atomic.Bool

	Barriers Barriers

	// LastSyncData is when an fdatasync of the file last completed (unix
	// ns; 0: never): a file synced so as it grows gets its append-ahead
	// written with zeros (zeroAheadLocked).
	LastSyncData atomic.Int64

	// Mu serialises size changes: extension, cut-back, truncate,
	// allocate, append reservations. Workers and blocking File methods
	// take it, never a Submit.
	Mu         sync.Mutex
	step       int64     // current append-ahead step (guarded by Mu)
	lastExtend time.Time // (guarded by Mu)
	appendEnd  int64     // end of the last reserved append (guarded by Mu)

	// syncErr is sticky: the first failed sync. An atomic, not under Mu:
	// Submit reads it, and Mu is held across fallocate and ftruncate.
	syncErr atomic.Pointer[syncFailure]

	// bufFd is a descriptor of the file without O_DIRECT, opened the
	// first time an I/O touches the last unit of the offset space
	// (BufferedFd); -1 until then (guarded by Mu).
	bufFd int

	refs int           // open handles (guarded by inodes.mu)
	gone chan struct{} // made when refs reaches 0, closed once the last Close is done
}

// key names a file in this process: its device and inode number, or for
// a block device the device it is (two device nodes of one disk are one
// disk).
type key struct {
	dev, ino uint64
	blockDev bool
}

// inodes is the process-wide table of open inodes: two Runtimes in one
// process share it, as two handles of one Runtime do.
var inodes struct {
	mu sync.Mutex
	m  map[key]*Inode
}

// Access is what a handle was opened for.
type Access struct{ Read, Write bool }

// AccessOf is what open(2)'s flag asks for.
func AccessOf(flag int) Access {
	switch flag & unix.O_ACCMODE {
	case unix.O_WRONLY:
		return Access{Write: true}
	case unix.O_RDWR:
		return Access{Read: true, Write: true}
	}
	return Access{Read: true}
}

// Attach finds the Inode of the open descriptor fd (opened with the
// handle's access mode, and O_DIRECT when direct), or makes it, and
// counts a handle on it. It takes fd: the Inode keeps it or closes it.
func Attach(fd int, direct bool, acc Access) (*Inode, error) {
	k, err := keyOf(fd)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	ino, err := share(k, acc)
	if ino != nil || err != nil {
		unix.Close(fd) // the Inode's descriptor does this handle's I/O
		return ino, err
	}
	// inodes.mu is held: a new Inode is made under it (one statx and one
	// FIEMAP), so that two Opens of one new file cannot make two.
	defer inodes.mu.Unlock()
	ino, err = newInode(k, fd, direct, acc)
	if err != nil {
		return nil, err
	}
	if inodes.m == nil {
		inodes.m = map[key]*Inode{}
	}
	ino.refs = 1
	inodes.m[k] = ino
	return ino, nil
}

// keyOf names the file of fd, refusing what is neither a regular file nor
// a block device.
func keyOf(fd int) (key, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return key{}, err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFBLK:
		return key{dev: st.Rdev, blockDev: true}, nil
	case unix.S_IFREG:
		return key{dev: st.Dev, ino: st.Ino}, nil
	}
	return key{}, fmt.Errorf("not a regular file or block device (mode %#o)", st.Mode)
}

// share counts a new handle on the open Inode of k. When there is none,
// it returns nil with inodes.mu held, for the caller to make it. When the
// Inode's last Close is running, it waits for it, then looks again.
func share(k key, acc Access) (*Inode, error) {
	for {
		inodes.mu.Lock()
		ino := inodes.m[k]
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

// newInode makes the Inode of fd. Its own descriptor is opened for
// reading and writing where the file allows it, so that every later
// handle, whatever its mode, can use it, and a write-only handle can
// still read the edges of a read-modify-write; where it does not, the
// handle's descriptor is kept as it is.
func newInode(k key, fd int, direct bool, acc Access) (*Inode, error) {
	ino := &Inode{key: k, Fd: fd, Readable: acc.Read, Writable: acc.Write, Direct: direct, bufFd: -1}
	ino.Locks.init()
	ino.Barriers.init()
	if !(acc.Read && acc.Write) {
		if rw, err := reopenRW(fd, direct); err == nil {
			unix.Close(fd)
			ino.Fd, ino.Readable, ino.Writable = rw, true, true
		}
	}
	if err := ino.setUpMap(k.blockDev); err != nil {
		unix.Close(ino.Fd)
		return nil, err
	}
	_, kernel := ino.Prov.Sizes()
	ino.dataEnd.Store(kernel)
	return ino, nil
}

// PastLastUnit reports whether an I/O that ends at end touches the last
// direct-I/O unit of the offset space, [2^63 - unit, 2^63): that unit's
// end is not a file offset, so it can be neither read nor written whole
// with O_DIRECT, where a page-cache descriptor reads and writes its bytes
// (XFS and btrfs files reach 8 EiB; ext4's stop at 16 TiB).
func (ino *Inode) PastLastUnit(end int64) bool {
	return ino.Direct && end > maxOffset-max(ino.Block, ino.Align.Offset)+1
}

// BufferedFd is a descriptor of the file without O_DIRECT, for the I/O
// PastLastUnit names; it is opened once and closed with the file. The
// kernel keeps the two coherent: a direct read or write of a range
// writes its cached pages back first, and fsync covers both.
func (ino *Inode) BufferedFd() (int, error) {
	ino.Mu.Lock()
	defer ino.Mu.Unlock()
	if ino.bufFd < 0 {
		fd, err := reopenRW(ino.Fd, false)
		if err != nil {
			return -1, err
		}
		ino.bufFd = fd
	}
	return ino.bufFd, nil
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
func (ino *Inode) setUpMap(blockDev bool) error {
	var err error
	if blockDev {
		ino.Prov, err = iomap.NewDevice(ino.Fd)
	} else {
		ino.Prov, err = iomap.NewFile(ino.Fd)
	}
	if err != nil {
		return err
	}
	ino.Block = ino.Prov.BlockSize()
	if ino.Direct {
		off, mem := ino.Prov.DIOAlign()
		ino.Align = bio.Alignment{Offset: off, Memory: mem}
	} else {
		ino.Align = bio.Alignment{Offset: 1, Memory: 1}
	}
	return nil
}

// covers says whether the Inode's descriptor can do what a new handle was
// opened for. It cannot only when the first handle could not reopen the
// file for both (no permission then) and the permissions changed since:
// the kernel let this handle open, the runtime's descriptor cannot serve
// it.
func (ino *Inode) covers(acc Access) error {
	missing := ""
	switch {
	case acc.Read && !ino.Readable:
		missing = "read"
	case acc.Write && !ino.Writable:
		missing = "write"
	default:
		return nil
	}
	return fmt.Errorf("aio: the file is open through the runtime without %s access (its first handle could not reopen it for reading and writing); close its other handles first: %w", missing, unix.EACCES)
}

// Detach drops a handle. The last one cuts the append-ahead tail back to
// the logical size (counted in cutBacks) and closes the descriptor; until
// it is done, an Open of the same file waits, so that it never reads the
// sizes half cut back.
func (ino *Inode) Detach(name string, cutBacks *atomic.Uint64) error {
	inodes.mu.Lock()
	ino.refs--
	if ino.refs > 0 {
		inodes.mu.Unlock()
		return nil
	}
	ino.gone = make(chan struct{})
	inodes.mu.Unlock()

	var err error
	if !ino.Prov.FixedSize() {
		ino.Mu.Lock()
		err = ino.CutBackLocked(name, cutBacks)
		ino.Mu.Unlock()
	}
	if cerr := unix.Close(ino.Fd); cerr != nil && err == nil {
		err = &Error{Op: "close", Path: name, Err: cerr}
	}
	if ino.bufFd >= 0 {
		unix.Close(ino.bufFd)
	}
	inodes.mu.Lock()
	delete(inodes.m, ino.key)
	inodes.mu.Unlock()
	close(ino.gone)
	return err
}

// Sizes returns the logical size and the kernel's size (a snapshot: it
// never waits).
func (ino *Inode) Sizes() (logical, kernel int64) { return ino.Prov.Sizes() }

// NowaitFlag is RWF_NOWAIT, unless the file's filesystem refuses it.
func (ino *Inode) NowaitFlag() bio.Flags {
	if ino.NoNowait.Load() {
		return 0
	}
	return bio.NoWait
}
