package ring

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Inode attributes (include/uapi/linux/fs.h), as chattr sets them: not
// io_uring, but kernel ABI, which stays in this package.

// InodeNoCOW is FS_NOCOW_FL (chattr +C): on btrfs, the file's data is
// written in place, not copied on write. btrfs accepts it only while
// the file is empty.
const InodeNoCOW uint32 = 0x00800000

// InodeFlags returns the file's attribute flags (FS_IOC_GETFLAGS; the
// kernel reads and writes an int, whatever the ioctl's declared size).
func InodeFlags(fd int) (uint32, error) {
	v, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	if err != nil {
		return 0, fmt.Errorf("FS_IOC_GETFLAGS: %w", err)
	}
	return v, nil
}

// SetInodeFlags sets the file's attribute flags (FS_IOC_SETFLAGS).
func SetInodeFlags(fd int, flags uint32) error {
	if err := unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, int(flags)); err != nil {
		return fmt.Errorf("FS_IOC_SETFLAGS %#x: %w", flags, err)
	}
	return nil
}
