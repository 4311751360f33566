package ring

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// FIEMAP (include/uapi/linux/fiemap.h): how a file's byte ranges map to
// extents on the device, and which are unwritten, delayed or shared. It is
// not io_uring, but it is kernel ABI, and kernel ABI stays in this package.

// FiemapExtent is struct fiemap_extent.
type FiemapExtent struct {
	Logical   uint64 // file offset of the extent
	Physical  uint64 // device offset of the extent
	Length    uint64
	reserved  [2]uint64
	Flags     uint32 // FiemapExtent* flags
	reserved2 [3]uint32
}

// fiemapHeader is struct fiemap without its flexible fm_extents array.
type fiemapHeader struct {
	Start         uint64
	Length        uint64
	Flags         uint32
	MappedExtents uint32
	ExtentCount   uint32
	Reserved      uint32
}

// FIEMAP request and extent flags.
const (
	FiemapFlagSync uint32 = 0x1 // FIEMAP_FLAG_SYNC: write dirty data back first

	FiemapExtentLast      uint32 = 0x1    // the last extent of the file
	FiemapExtentUnknown   uint32 = 0x2    // location not known
	FiemapExtentDelalloc  uint32 = 0x4    // delayed allocation: no location yet
	FiemapExtentEncoded   uint32 = 0x8    // data not readable as is
	FiemapExtentInline    uint32 = 0x200  // data inline with metadata
	FiemapExtentUnwritten uint32 = 0x800  // allocated, reads as zeros
	FiemapExtentShared    uint32 = 0x2000 // shared with another file (reflink)
)

// fsIocFiemap is FS_IOC_FIEMAP, _IOWR('f', 11, struct fiemap).
const fsIocFiemap = 0xC020660B

// fiemapMaxExtents bounds one call; Fiemap's callers loop for more.
const fiemapMaxExtents = 256

// fiemapBuf is struct fiemap with room for fiemapMaxExtents extents.
type fiemapBuf struct {
	hdr     fiemapHeader
	extents [fiemapMaxExtents]FiemapExtent
}

// Fiemap asks the filesystem for the extents of fd that overlap
// [start, start+length) and copies up to len(dst) of them (at most 256 per
// call) into dst. It returns how many it copied; when the last one lacks
// FiemapExtentLast and ends before start+length, call again from its end.
// Holes are the gaps between extents. flags may hold FiemapFlagSync.
func Fiemap(fd int, start, length uint64, flags uint32, dst []FiemapExtent) (int, error) {
	if len(dst) == 0 {
		return 0, nil
	}
	var buf fiemapBuf
	buf.hdr = fiemapHeader{Start: start, Length: length, Flags: flags,
		ExtentCount: uint32(min(len(dst), fiemapMaxExtents))}
	for {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), fsIocFiemap, uintptr(unsafe.Pointer(&buf)))
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return 0, fmt.Errorf("FS_IOC_FIEMAP [%d, +%d): %w", start, length, errno)
		}
		break
	}
	return copy(dst, buf.extents[:buf.hdr.MappedExtents]), nil
}

// figetbsz is FIGETBSZ, _IO(0x00, 2): the filesystem's block size for an
// open file (the superblock's s_blocksize). It is answered by the VFS for
// every filesystem.
const figetbsz = 2

// FSBlockSize returns the block size of the filesystem holding fd: the
// unit in which it allocates and zeroes. It is not statx's stx_blksize,
// the preferred I/O size, which XFS reports as 4096 on 1 KiB blocks and
// as 65536 when mounted largeio.
func FSBlockSize(fd int) (int64, error) {
	var v int32
	for {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), figetbsz, uintptr(unsafe.Pointer(&v)))
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return 0, fmt.Errorf("FIGETBSZ: %w", errno)
		}
		break
	}
	if v <= 0 || v&(v-1) != 0 {
		return 0, fmt.Errorf("FIGETBSZ: block size %d is not a power of two", v)
	}
	return int64(v), nil
}
