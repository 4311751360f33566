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

// Inode is everything that belongs to a file rather than to a handle,
// shared by every handle in the process (as the kernel's inode is by its
// page cache). Owner: shared; the fields above Locks are read-only after
// it is made, the rest say what guards them.
type Inode struct {
	key      key
	Fd       int            // the descriptor every handle's I/O uses
	Readable bool           // Fd was opened for reading (O_RDONLY or O_RDWR)
	Writable bool           // Fd was opened for writing (O_WRONLY or O_RDWR)
	Direct   bool           // Fd has O_DIRECT
	Prov     iomap.Provider // the map and the sizes: iomap.File, or iomap.Device for a block device
	Align    bio.Alignment  // what the kernel needs for I/O on Fd
	Block    int64          // filesystem block (RMW unit in unwritten storage)

	Locks        RangeLock
	Barriers     Barriers
	dataEnd      atomic.Int64 // no data lies past it: the kernel's size at open, raised before each write is issued (TailUnitFunc)
	NoNowait     atomic.Bool  // the filesystem refuses RWF_NOWAIT (EOPNOTSUPP): ring I/O goes without it
	LastSyncData atomic.Int64 // unix ns of the last fdatasync completed (zeroAheadLocked)

	// Mu serialises size changes; never taken by a Submit.
	Mu         sync.Mutex
	step       int64     // current append-ahead step (guarded by Mu)
	lastExtend time.Time // (guarded by Mu)
	appendEnd  int64     // end of the last reserved append (guarded by Mu)

	// syncErr is sticky: the first failed sync (an atomic: Submit reads it).
	syncErr atomic.Pointer[syncFailure]

	bufFd int // without O_DIRECT, for the last unit (BufferedFd); -1: not open (guarded by Mu)

	refs int           // open handles (guarded by inodes.mu)
	gone chan struct{} // made when refs reaches 0, closed once the last Close is done
}

// key names a file: its device and inode number, or for a block device
// the device (two device nodes of one disk are one disk).
type key struct {
	dev, ino uint64
	blockDev bool
}

// inodes is the process-wide table of open inodes.
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

// Attach finds or makes the Inode of the open descriptor fd and counts a
// handle on it; the Inode keeps fd or closes it.
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
	// inodes.mu is held, so that two Opens of one new file make one.
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

// share counts a new handle on the open Inode of k, or returns nil with
// inodes.mu held for the caller to make it; it waits for a last Close
// that is running.
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

// newInode makes the Inode of fd, reopened for reading and writing where
// allowed (a write-only handle still reads the edges it rewrites).
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
// direct-I/O unit of the offset space, [2^63 - unit, 2^63), whose end is
// no file offset: O_DIRECT cannot do it whole, a page-cache descriptor
// does its bytes (XFS and btrfs files reach 8 EiB).
func (ino *Inode) PastLastUnit(end int64) bool {
	return ino.Direct && end > MaxOffset-max(ino.Block, ino.Align.Offset)+1
}

// BufferedFd is a descriptor of the file without O_DIRECT, opened once,
// for the I/O PastLastUnit names (the kernel keeps the two coherent, and
// fsync covers both).
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

// reopenRW opens the file of fd again for reading and writing, through
// /proc/self/fd (the inode itself: a rename or unlink changes nothing).
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

// setUpMap chooses the provider by the file's kind.
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
// opened for: not when the first could not reopen the file for both and
// the permissions changed since.
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

// Detach drops a handle. The last one cuts the append-ahead tail back
// (counted in cutBacks) and closes the descriptor; an Open of the file
// meanwhile waits for it.
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

// Sizes returns the logical and the kernel's size (a snapshot).
func (ino *Inode) Sizes() (logical, kernel int64) { return ino.Prov.Sizes() }

// NowaitFlag is RWF_NOWAIT, unless the file's filesystem refuses it.
func (ino *Inode) NowaitFlag() bio.Flags {
	if ino.NoNowait.Load() {
		return 0
	}
	return bio.NoWait
}
