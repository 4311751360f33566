package aio

import "golang.org/x/sys/unix"

// syscalls is the seam between the runtime and the blocking system calls
// of the slow path and the File methods: the workers' pread and pwrite,
// append-ahead's and Allocate's fallocate, Truncate's and the cut-back's
// ftruncate, the syncs, and the fstat that checks a size after a
// failure. The ring has its own seam (ring's fault
// injection); this one lets a test wrap the real calls with faults (see
// sysfault_test.go), so that every path of a request can be made to fail.
type syscalls interface {
	Pread(fd int, p []byte, off int64) (int, error)
	Pwrite(fd int, p []byte, off int64) (int, error)
	Fallocate(fd int, mode uint32, off, length int64) error
	Ftruncate(fd int, size int64) error
	Fsync(fd int) error
	Fdatasync(fd int) error
	Fstat(fd int, st *unix.Stat_t) error
}

// kernelCalls makes the calls, as x/sys/unix does.
type kernelCalls struct{}

func (kernelCalls) Pread(fd int, p []byte, off int64) (int, error)  { return unix.Pread(fd, p, off) }
func (kernelCalls) Pwrite(fd int, p []byte, off int64) (int, error) { return unix.Pwrite(fd, p, off) }
func (kernelCalls) Fallocate(fd int, mode uint32, off, length int64) error {
	return unix.Fallocate(fd, mode, off, length)
}
func (kernelCalls) Ftruncate(fd int, size int64) error  { return unix.Ftruncate(fd, size) }
func (kernelCalls) Fsync(fd int) error                  { return unix.Fsync(fd) }
func (kernelCalls) Fdatasync(fd int) error              { return unix.Fdatasync(fd) }
func (kernelCalls) Fstat(fd int, st *unix.Stat_t) error { return unix.Fstat(fd, st) }

// sys is the seam in use. Only tests replace it, before any runtime they
// start, and put it back after.
var sys syscalls = kernelCalls{}
