package iomap

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/ring"
)

// File maps a file on a kernel filesystem (ext4, xfs, btrfs). It knows
// what the runtime knows (the logical size, the kernel's size, what the
// runtime preallocated and wrote) and what FIEMAP says of the rest, and it
// answers NoWait questions from that knowledge alone, without a system
// call. A wrong answer only costs an EAGAIN from the kernel and a trip to
// the worker, never wrong data: the kernel checks every NOWAIT write.
//
// Known zeros (FlagKnownZero) are claimed only for ranges past the logical
// size and ranges the runtime itself allocated and never wrote; that
// knowledge assumes no other process writes the file behind the runtime's
// back, as a database assumes of its own files.
//
// Readers take no lock. The map and the sizes are an immutable snapshot
// published through an atomic pointer: Begin, Sizes and Valid load it and
// never wait, whatever a writer is doing (the kernel's iomap users hold no
// lock between iomap_begin and iomap_end either, and revalidate with a
// cookie). Writers (the Note methods, Refresh) are serialised among
// themselves by a mutex that no reader takes: each updates the writers'
// own copy of the extent tree, and publishes a clone of it, with the
// cookie bumped, before it returns, so a reader that starts after a Note
// returns sees it. A writer's lock was once the readers' too: a Submit
// read the map under it and waited 4-7 ms behind completions splicing a
// sorted slice of 20,000 extents (docs/decisions.md).
//
// Owner: shared by every runtime's submitters, completers and workers
// that use the file (aio keeps one per inode in the process); every
// method is safe for concurrent use.
type File struct {
	fd int
	// Set at open, read-only after.
	blockSize      int64 // filesystem block: the unit of allocation and zeroing
	dioOffsetAlign int64 // file offset and length alignment of direct I/O
	dioMemAlign    int64 // memory alignment of direct I/O
	noFiemap       bool  // the filesystem has no FIEMAP (tmpfs): the map stays unknown
	policy         Policy

	cur atomic.Pointer[snapshot] // what readers see; replaced, never changed

	w struct { // the writers' side
		sync.Mutex
		ext extentMap // the writers' own tree; snapshots are clones of it
	}
}

// snapshot is one published state of the file's map. Immutable: a writer
// makes a new one and swaps the pointer.
type snapshot struct {
	logicalSize int64 // the size the user sees
	kernelSize  int64 // the size the kernel has (may run ahead: append-ahead)
	known       bool  // ext holds the file's map (FIEMAP read and kept up to date)
	ext         extentMap
	cookie      uint64 // generation: bumped by every publish
}

// UpdateHook, when set, runs inside every update of a File's map, with
// the writers' lock held. Tests only (set it before the files it watches
// are opened, and clear it after they are closed): it stalls a writer to
// show that readers do not wait for it.
var UpdateHook func()

// NewFile maps the open file fd. It reads the file's size, its direct-I/O
// alignments (statx STATX_DIOALIGN, else the device's logical block size)
// and its extents (FIEMAP); it may block, and is called when a file is
// opened, off the hot path.
func NewFile(fd int) (*File, error) {
	var stx unix.Statx_t
	mask := unix.STATX_SIZE | unix.STATX_BLOCKS | unix.STATX_DIOALIGN
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH, mask, &stx); err != nil {
		return nil, fmt.Errorf("iomap: statx: %w", err)
	}
	if stx.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("iomap: NewFile needs a regular file (mode %#o); use NewDevice for a block device", stx.Mode)
	}
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		return nil, fmt.Errorf("iomap: statfs: %w", err)
	}
	bs, err := blockSize(fd, sfs.Bsize)
	if err != nil {
		return nil, err
	}
	p := &File{fd: fd, blockSize: bs, policy: policyOf(sfs.Type)}
	p.dioOffsetAlign, p.dioMemAlign = int64(stx.Dio_offset_align), int64(stx.Dio_mem_align)
	if stx.Mask&unix.STATX_DIOALIGN == 0 || p.dioOffsetAlign == 0 {
		lbs := logicalBlockSize(stx.Dev_major, stx.Dev_minor)
		p.dioOffsetAlign, p.dioMemAlign = lbs, lbs
	}
	p.w.ext = newExtentMap()
	p.cur.Store(&snapshot{logicalSize: int64(stx.Size), kernelSize: int64(stx.Size), ext: p.w.ext.clone()})
	if err := p.Refresh(); err != nil {
		if !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.ENOTTY) {
			return nil, err
		}
		// No FIEMAP here: sizes are still tracked, but NoWait writes are
		// refused (ErrUnknownMap) and go to the worker.
		p.noFiemap = true
	}
	return p, nil
}

// blockSize is the filesystem's block, the unit in which it allocates
// and zeroes: FIGETBSZ, else statfs's f_bsize (fBsize). Never statx's stx_blksize,
// the preferred I/O size, which can be several blocks (XFS: 4096 on 1 KiB
// blocks, 65536 mounted largeio): taken for the block, it made a
// read-modify-write zero-fill data.
func blockSize(fd int, fBsize int64) (int64, error) {
	bs, err := ring.FSBlockSize(fd)
	if err == nil {
		return bs, nil
	}
	if fBsize > 0 && fBsize&(fBsize-1) == 0 {
		return fBsize, nil
	}
	return 0, fmt.Errorf("iomap: the filesystem's block size: %w", err)
}

// logicalBlockSize reads the device's logical block size from sysfs (for a
// partition, from its parent disk), or 512 when it cannot be read.
func logicalBlockSize(major, minor uint32) int64 {
	dir := fmt.Sprintf("/sys/dev/block/%d:%d", major, minor)
	for _, p := range []string{dir + "/queue/logical_block_size", dir + "/../queue/logical_block_size"} {
		if b, err := os.ReadFile(p); err == nil {
			if v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && v > 0 {
				return v
			}
		}
	}
	return 512
}

// Policy is the file's filesystem's policy (Provider).
func (p *File) Policy() Policy { return p.policy }

// FixedSize is false: a file grows and shrinks (Provider).
func (p *File) FixedSize() bool { return false }

// BlockSize is the filesystem block size.
func (p *File) BlockSize() int64 { return p.blockSize }

// DIOAlign returns the direct-I/O alignment of file offsets and lengths, and
// of memory.
func (p *File) DIOAlign() (offset, memory int64) { return p.dioOffsetAlign, p.dioMemAlign }

// Sizes returns the logical size and the kernel's size.
func (p *File) Sizes() (logical, kernel int64) {
	s := p.cur.Load()
	return s.logicalSize, s.kernelSize
}

// Valid reports whether m is still current (Validator).
func (p *File) Valid(m Iomap) bool { return m.ValidityCookie == p.cur.Load().cookie }

// Extents is how many extents the map holds (for benchmarks and tests).
func (p *File) Extents() int { return p.cur.Load().ext.len() }

// Begin maps the range at pos (Ops). It takes no lock: it reads the
// snapshot published last.
func (p *File) Begin(pos, length int64, flags ReqFlags) (Iomap, Iomap, error) {
	s := p.cur.Load()
	if flags&(Write|Zero) == 0 {
		return s.mapRead(pos, length), Iomap{}, nil
	}
	m, err := p.mapWrite(s, pos, length, flags)
	return m, Iomap{}, err
}

func (s *snapshot) mapRead(pos, length int64) Iomap {
	logical := s.logicalSize
	if pos >= logical {
		return Iomap{Offset: pos, Length: length, Addr: pos, Type: TypeHole,
			Flags: FlagKnownZero | FlagPastSize, ValidityCookie: s.cookie}
	}
	if !s.known {
		return Iomap{Offset: pos, Length: logical - pos, Addr: pos, Type: TypeMapped, ValidityCookie: s.cookie}
	}
	if pos >= s.kernelSize {
		// Logical size ahead of the kernel's (a size change in flight):
		// nothing is stored there yet.
		return Iomap{Offset: pos, Length: logical - pos, Addr: pos, Type: TypeHole, ValidityCookie: s.cookie}
	}
	e := s.ext.lookup(pos, s.kernelSize)
	end := min(e.end, logical)
	return Iomap{Offset: e.off, Length: end - e.off, Addr: e.off, Type: e.typ, Flags: e.flags, ValidityCookie: s.cookie}
}

// mapWrite answers for a write (or zeroing) at pos. Under NoWait and
// OverwriteOnly it refuses, with the reason, what the kernel would block on:
// extension, allocation, sub-block zeroing of unwritten storage, delayed
// allocation, copy-on-write.
func (p *File) mapWrite(s *snapshot, pos, length int64, flags ReqFlags) (Iomap, error) {
	strict := flags&(NoWait|OverwriteOnly) != 0
	if flags&NoWait != 0 && !p.policy.NoWaitWrites {
		return Iomap{}, ErrFilesystemRefuses
	}
	kernel := s.kernelSize
	if pos >= kernel {
		if strict {
			return Iomap{}, ErrExtends
		}
		return Iomap{Offset: pos, Length: length, Addr: pos, Type: TypeHole,
			Flags: FlagNew | FlagSizeChanged, ValidityCookie: s.cookie}, nil
	}
	if !s.known {
		if strict {
			return Iomap{}, ErrUnknownMap
		}
		return Iomap{Offset: pos, Length: kernel - pos, Addr: pos, Type: TypeMapped, ValidityCookie: s.cookie}, nil
	}
	e := s.ext.lookup(pos, kernel)
	e.end = min(e.end, kernel) // past the kernel's size is an extension
	m := Iomap{Offset: e.off, Length: e.end - e.off, Addr: e.off, Type: e.typ, Flags: e.flags, ValidityCookie: s.cookie}
	if pos+length > s.logicalSize {
		m.Flags |= FlagSizeChanged
	}
	if flags&Atomic != 0 && pos+length > e.end {
		return Iomap{}, fmt.Errorf("iomap: atomic write [%d, +%d) spans more than one mapping (%v): %w", pos, length, m, unix.EINVAL)
	}
	segEnd := min(pos+length, e.end)
	switch {
	case e.typ == TypeMapped && e.flags&FlagShared != 0 && strict:
		return Iomap{}, ErrShared
	case e.typ == TypeMapped:
		return m, nil
	case flags&OverwriteOnly != 0:
		return Iomap{}, ErrNotOverwrite
	case e.typ == TypeUnwritten:
		if flags&NoWait != 0 && (pos%p.blockSize != 0 || segEnd%p.blockSize != 0) {
			return Iomap{}, ErrSubBlock
		}
		return m, nil
	case e.typ == TypeHole && strict:
		return Iomap{}, ErrAllocates
	case e.typ == TypeHole:
		m.Flags |= FlagNew
		return m, nil
	case e.typ == TypeDelalloc && strict:
		return Iomap{}, ErrDelalloc
	}
	return m, nil
}

// End finishes a mapping (Ops). The file's map changes when I/O completes,
// not when it is planned, so End only checks its arguments; the runtime
// reports completions with NoteWritten.
func (p *File) End(pos, length, written int64, flags ReqFlags, m Iomap) error {
	if written < 0 || written > length {
		return fmt.Errorf("iomap: End of [%d, +%d) with %d bytes written", pos, length, written)
	}
	return nil
}

// roundOut widens [off, end) to whole filesystem blocks (the last block
// of the offset space ends at the largest offset).
func (p *File) roundOut(off, end int64) (int64, int64) {
	bs := p.blockSize
	if end > maxOffset-bs+1 {
		return off / bs * bs, maxOffset
	}
	return off / bs * bs, (end + bs - 1) / bs * bs
}

// update runs change with the writers' lock held, on a copy of the
// current snapshot whose ext is the writers' own tree, and publishes the
// result with a new cookie (and a clone of the tree when change reports
// that it changed it).
func (p *File) update(change func(s *snapshot) (treeChanged bool)) {
	p.w.Lock()
	defer p.w.Unlock()
	if UpdateHook != nil {
		UpdateHook()
	}
	cur := p.cur.Load()
	next := *cur
	next.ext = p.w.ext
	if change(&next) {
		next.ext = p.w.ext.clone()
	} else {
		next.ext = cur.ext
	}
	next.cookie = cur.cookie + 1
	p.cur.Store(&next)
}

// NoteWritten records that [off, off+n) was written and the write has
// completed: its blocks are now written storage (a partial write of an
// unwritten block or a hole makes the kernel zero the rest of the block),
// and the kernel's size covers it. An overwrite of written storage
// changes nothing and takes no lock.
func (p *File) NoteWritten(off, n int64) {
	if n <= 0 {
		return
	}
	lo, hi := p.roundOut(off, off+n)
	s := p.cur.Load()
	if e := s.ext.lookup(lo, maxOffset); e.typ == TypeMapped && e.flags == 0 && e.end >= hi && off+n <= s.kernelSize {
		return
	}
	p.update(func(s *snapshot) bool {
		s.ext.set(lo, hi, TypeMapped, 0)
		s.kernelSize = max(s.kernelSize, off+n)
		return true
	})
}

// NoteAllocated records a completed fallocate of [off, off+n): the holes in
// it are now unwritten storage that the runtime knows reads as zeros.
// Without keepSize the kernel's size grows to cover it.
func (p *File) NoteAllocated(off, n int64, keepSize bool) {
	if n <= 0 {
		return
	}
	lo, hi := p.roundOut(off, off+n)
	p.update(func(s *snapshot) bool {
		s.ext.markHoles(lo, hi, TypeUnwritten)
		if !keepSize {
			s.kernelSize = max(s.kernelSize, off+n)
		}
		return true
	})
}

// NoteLogicalEnd records that a completed write ended at end: the logical
// size grows to end if it was below.
func (p *File) NoteLogicalEnd(end int64) {
	if p.cur.Load().logicalSize >= end {
		return
	}
	p.update(func(s *snapshot) bool {
		s.logicalSize = max(s.logicalSize, end)
		return false
	})
}

// SetLogicalSize records the size the user sees.
func (p *File) SetLogicalSize(size int64) {
	p.update(func(s *snapshot) bool {
		s.logicalSize = size
		return false
	})
}

// NoteKernelSize records that the kernel's size is now size (after
// ftruncate). Storage past a shrunk size is gone; a grown size adds a hole
// that reads as zeros.
func (p *File) NoteKernelSize(size int64) {
	p.update(func(s *snapshot) bool {
		old := s.kernelSize
		s.kernelSize = size
		if size < old {
			_, hi := p.roundOut(size, size)
			s.ext.truncate(hi)
			return true
		}
		if size > old {
			s.ext.markHoles(old, size, TypeHole)
			return true
		}
		return false
	})
}

// Invalidate forgets the map: until Refresh, NoWait writes are refused with
// ErrUnknownMap. For a user that learns the file changed behind it; aio,
// the file's only writer in the process, calls neither.
func (p *File) Invalidate() {
	p.update(func(s *snapshot) bool {
		s.known = false
		return false
	})
}

// Refresh reads the file's map again with FIEMAP. Ranges the runtime knows
// read as zeros keep that knowledge where FIEMAP still shows no written
// data there. It may block: the worker calls it, never the submitter.
func (p *File) Refresh() error {
	if p.noFiemap {
		return nil
	}
	fresh, err := readFiemap(p.fd)
	if err != nil {
		return err
	}
	p.update(func(s *snapshot) bool {
		p.w.ext.each(func(z extent) {
			if z.flags&FlagKnownZero == 0 {
				return
			}
			for pos := z.off; pos < z.end; {
				e := fresh.lookup(pos, maxOffset)
				end := min(e.end, z.end)
				if e.typ == TypeHole || e.typ == TypeUnwritten {
					fresh.set(pos, end, e.typ, FlagKnownZero)
				}
				pos = end
			}
		})
		p.w.ext = fresh
		s.known = true
		return true
	})
	return nil
}

// readFiemap classifies every extent of fd. It asks with FIEMAP_FLAG_SYNC,
// which writes the file's dirty page cache back first: another program's
// buffered writes into unwritten storage read as data while the extent
// still says "unwritten", and a map that took them for zeros let a
// read-modify-write zero-fill over them. Once written back, the extents
// are the truth. It blocks for as long as the write-back takes: it runs
// at Open and on a worker.
func readFiemap(fd int) (extentMap, error) {
	m := newExtentMap()
	buf := make([]ring.FiemapExtent, 256)
	for start := uint64(0); ; {
		n, err := ring.Fiemap(fd, start, ^uint64(0)-start, ring.FiemapFlagSync, buf)
		if err != nil {
			return m, fmt.Errorf("iomap: %w", err)
		}
		if n == 0 {
			return m, nil
		}
		for _, fe := range buf[:n] {
			typ, flags := classify(fe.Flags)
			m.set(int64(fe.Logical), int64(fe.Logical+fe.Length), typ, flags)
		}
		last := buf[n-1]
		if last.Flags&ring.FiemapExtentLast != 0 {
			return m, nil
		}
		start = last.Logical + last.Length
	}
}

func classify(fl uint32) (Type, Flags) {
	var flags Flags
	if fl&ring.FiemapExtentShared != 0 {
		flags |= FlagShared
	}
	switch {
	case fl&(ring.FiemapExtentDelalloc|ring.FiemapExtentUnknown) != 0:
		return TypeDelalloc, flags
	case fl&(ring.FiemapExtentInline|ring.FiemapExtentEncoded) != 0:
		return TypeInline, flags
	case fl&ring.FiemapExtentUnwritten != 0:
		return TypeUnwritten, flags
	}
	return TypeMapped, flags
}
