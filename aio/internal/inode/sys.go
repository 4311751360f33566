package inode

import "golang.org/x/sys/unix"

// Syscalls is the seam for the blocking system calls of the slow path and
// the size changes: tests wrap the real calls with faults (the ring has
// its own seam).
type Syscalls interface {
	Pread(fd int, p []byte, off int64) (int, error)
	Pwrite(fd int, p []byte, off int64) (int, error)
	Fallocate(fd int, mode uint32, off, length int64) error
	Ftruncate(fd int, size int64) error
	Fsync(fd int) error
	Fdatasync(fd int) error
	Fstat(fd int, st *unix.Stat_t) error
}

// KernelCalls makes the calls, as x/sys/unix does.
type KernelCalls struct{}

func (KernelCalls) Pread(fd int, p []byte, off int64) (int, error)  { return unix.Pread(fd, p, off) }
func (KernelCalls) Pwrite(fd int, p []byte, off int64) (int, error) { return unix.Pwrite(fd, p, off) }
func (KernelCalls) Fallocate(fd int, mode uint32, off, length int64) error {
	return unix.Fallocate(fd, mode, off, length)
}
func (KernelCalls) Ftruncate(fd int, size int64) error  { return unix.Ftruncate(fd, size) }
func (KernelCalls) Fsync(fd int) error                  { return unix.Fsync(fd) }
func (KernelCalls) Fdatasync(fd int) error              { return unix.Fdatasync(fd) }
func (KernelCalls) Fstat(fd int, st *unix.Stat_t) error { return unix.Fstat(fd, st) }

// Sys is the seam in use; tests replace it around the runtimes they start.
var Sys Syscalls = KernelCalls{}

// RetryEINTR calls f until it returns something other than EINTR.
func RetryEINTR(f func() error) error {
	for {
		if err := f(); err != unix.EINTR {
			return err
		}
	}
}

// PreadFull reads b at off, retrying EINTR. A short read is the end of
// the file (reading on would ask O_DIRECT for an unaligned offset).
func PreadFull(fd int, b []byte, off int64) (int, error) {
	for {
		n, err := Sys.Pread(fd, b, off)
		if err != unix.EINTR {
			return max(n, 0), err
		}
	}
}

// PwriteFull writes all of b at off, retrying EINTR and short writes.
func PwriteFull(fd int, b []byte, off int64) (int, error) {
	done := 0
	for done < len(b) {
		n, err := Sys.Pwrite(fd, b[done:], off+int64(done))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return done, err
		}
		done += n
	}
	return done, nil
}
