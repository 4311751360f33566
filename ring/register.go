package ring

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Registered files and buffers. A registered file is named in an SQE by its
// index (UseFixedFile), which spares the kernel a file-table lookup and
// reference count per I/O; a registered buffer is pinned once, which spares
// the per-I/O page pinning (READ_FIXED, WRITE_FIXED). Both are set up once,
// off the hot path, by the ring's owner.

// RegisterFiles registers fds as fixed files 0..len(fds)-1. An fd of -1
// leaves a slot empty, to be filled later with UpdateFiles.
func (r *Ring) RegisterFiles(fds []int32) error {
	if r.closed {
		return ErrClosed
	}
	if len(fds) == 0 {
		return fmt.Errorf("ring: RegisterFiles with no files")
	}
	_, err := sysRegister(r.fd, registerFiles, unsafe.Pointer(&fds[0]), uint32(len(fds)))
	if err != nil {
		return fmt.Errorf("ring: register %d files: %w", len(fds), err)
	}
	return nil
}

// UpdateFiles replaces the fixed files from slot off on with fds (-1 empties
// a slot). It returns how many slots were updated.
func (r *Ring) UpdateFiles(off uint32, fds []int32) (int, error) {
	if r.closed {
		return 0, ErrClosed
	}
	if len(fds) == 0 {
		return 0, nil
	}
	up := rsrcUpdate{Offset: off, Data: uint64(uintptr(unsafe.Pointer(&fds[0])))}
	n, err := sysRegister(r.fd, registerFilesUpdate, unsafe.Pointer(&up), uint32(len(fds)))
	if err != nil {
		return 0, fmt.Errorf("ring: update fixed files %d..%d: %w", off, int(off)+len(fds)-1, err)
	}
	return n, nil
}

// UnregisterFiles drops every fixed file.
func (r *Ring) UnregisterFiles() error { return r.unregister(unregisterFiles, "files") }

// RegisterBuffers registers bufs as fixed buffers 0..len(bufs)-1. The
// memory must stay mapped until UnregisterBuffers or Close: use mmap'd
// memory or keep the slices reachable.
func (r *Ring) RegisterBuffers(bufs [][]byte) error {
	if r.closed {
		return ErrClosed
	}
	if len(bufs) == 0 {
		return fmt.Errorf("ring: RegisterBuffers with no buffers")
	}
	iov := make([]unix.Iovec, len(bufs))
	for i, b := range bufs {
		if len(b) == 0 {
			return fmt.Errorf("ring: RegisterBuffers: buffer %d is empty", i)
		}
		iov[i].Base = &b[0]
		iov[i].SetLen(len(b))
	}
	_, err := sysRegister(r.fd, registerBuffers, unsafe.Pointer(&iov[0]), uint32(len(iov)))
	if err != nil {
		return fmt.Errorf("ring: register %d buffers: %w", len(bufs), err)
	}
	return nil
}

// UnregisterBuffers drops every fixed buffer.
func (r *Ring) UnregisterBuffers() error { return r.unregister(unregisterBuffers, "buffers") }

// unregister runs one of the IORING_UNREGISTER_* operations, which take no
// argument; what names the resource in the error.
func (r *Ring) unregister(op uint32, what string) error {
	if r.closed {
		return ErrClosed
	}
	if _, err := sysRegister(r.fd, op, nil, 0); err != nil {
		return fmt.Errorf("ring: unregister %s: %w", what, err)
	}
	return nil
}

// SendMsgRing posts a CQE with userData and res into the ring whose
// descriptor is target, from any goroutine and without a ring of the
// caller's own (IORING_REGISTER_SEND_MSG_RING, Linux 6.13): a goroutine
// that is not the ring's driver wakes a driver waiting in io_uring_enter
// this way. On older kernels it returns EINVAL.
func SendMsgRing(target int, userData uint64, res int32) error {
	sqe := SQE{Opcode: OpMsgRing, Fd: int32(target), Addr: msgData, Off: userData, Len: uint32(res)}
	_, err := sysRegister(-1, registerSendMsgRing, unsafe.Pointer(&sqe), 1)
	return err
}
