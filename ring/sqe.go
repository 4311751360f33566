package ring

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Preparation of submission queue entries. Each Prep resets the whole
// entry, then sets the opcode and its operands, so that no operand of an
// earlier preparation survives (the kernel refuses, with EINVAL, an fsync
// that carries a buffer address, for one). The caller sets UserData and
// any SQE flags (Flags |= SQEIOLink, ...) after the Prep.
//
// Memory passed here by address (buffers, iovec arrays) must stay valid and
// must not move until the kernel is done with it: buffers until their CQE,
// iovec arrays until the Submit that hands them over returns (the kernel
// copies them then; FeatSubmitStable). Go heap memory does not move, but
// it must be kept reachable or pinned; goroutine stacks move, so never pass
// the address of a local variable. user_data is an opaque number: never a
// Go pointer, which the garbage collector cannot see there.

func bufAddr(b []byte) uint64 {
	return uint64(Addr(b))
}

// Addr is the address of b's first byte, for alignment checks above this
// package (which keeps the project's unsafe code in one place).
func Addr(b []byte) uintptr {
	return uintptr(unsafe.Pointer(unsafe.SliceData(b)))
}

func (s *SQE) prepRW(op uint8, fd int32, addr uint64, length uint32, off uint64) {
	*s = SQE{Opcode: op, Fd: fd, Addr: addr, Len: length, Off: off}
}

// PrepNop prepares a no-op, which completes with result 0.
func (s *SQE) PrepNop() { *s = SQE{Opcode: OpNop} }

// PrepRead reads len(buf) bytes at off. rwFlags are RWF_* flags.
func (s *SQE) PrepRead(fd int32, buf []byte, off uint64, rwFlags uint32) {
	s.prepRW(OpRead, fd, bufAddr(buf), uint32(len(buf)), off)
	s.OpFlags = rwFlags
}

// PrepWrite writes buf at off. rwFlags are RWF_* flags.
func (s *SQE) PrepWrite(fd int32, buf []byte, off uint64, rwFlags uint32) {
	s.prepRW(OpWrite, fd, bufAddr(buf), uint32(len(buf)), off)
	s.OpFlags = rwFlags
}

// PrepReadv reads into the buffers of iov, in order, from off.
func (s *SQE) PrepReadv(fd int32, iov []unix.Iovec, off uint64, rwFlags uint32) {
	s.prepRW(OpReadv, fd, uint64(uintptr(unsafe.Pointer(unsafe.SliceData(iov)))), uint32(len(iov)), off)
	s.OpFlags = rwFlags
}

// PrepWritev writes the buffers of iov, in order, at off.
func (s *SQE) PrepWritev(fd int32, iov []unix.Iovec, off uint64, rwFlags uint32) {
	s.prepRW(OpWritev, fd, uint64(uintptr(unsafe.Pointer(unsafe.SliceData(iov)))), uint32(len(iov)), off)
	s.OpFlags = rwFlags
}

// PrepReadFixed reads into buf, which must lie inside the registered buffer
// bufIndex (see RegisterBuffers).
func (s *SQE) PrepReadFixed(fd int32, buf []byte, off uint64, bufIndex uint16, rwFlags uint32) {
	s.prepRW(OpReadFixed, fd, bufAddr(buf), uint32(len(buf)), off)
	s.BufIndex = bufIndex
	s.OpFlags = rwFlags
}

// PrepWriteFixed writes buf, which must lie inside the registered buffer
// bufIndex.
func (s *SQE) PrepWriteFixed(fd int32, buf []byte, off uint64, bufIndex uint16, rwFlags uint32) {
	s.prepRW(OpWriteFixed, fd, bufAddr(buf), uint32(len(buf)), off)
	s.BufIndex = bufIndex
	s.OpFlags = rwFlags
}

// PrepFsync syncs the file; fsyncFlags FsyncDatasync makes it fdatasync.
func (s *SQE) PrepFsync(fd int32, fsyncFlags uint32) {
	*s = SQE{Opcode: OpFsync, Fd: fd, OpFlags: fsyncFlags}
}

// PrepFallocate is fallocate(fd, mode, off, length).
func (s *SQE) PrepFallocate(fd int32, mode uint32, off, length uint64) {
	// The kernel reads the length from addr and the mode from len.
	s.prepRW(OpFallocate, fd, length, mode, off)
}

// PrepPollAdd waits for events (POLLIN, ...) on fd; with multishot it
// keeps posting a CQE (with CQEFMore) for every readiness until cancelled.
func (s *SQE) PrepPollAdd(fd int32, events uint32, multishot bool) {
	*s = SQE{Opcode: OpPollAdd, Fd: fd, OpFlags: events}
	if multishot {
		s.Len = PollAddMulti
	}
}

// PrepCancel cancels the request whose user_data is target (with flags 0),
// or several at once (CancelAll, CancelAny, CancelFd with fd).
func (s *SQE) PrepCancel(target uint64, fd int32, cancelFlags uint32) {
	*s = SQE{Opcode: OpAsyncCancel, Addr: target, Fd: fd, OpFlags: cancelFlags}
	if cancelFlags&CancelFd == 0 {
		s.Fd = -1
	}
}

// UseFixedFile makes the entry refer to the registered file at index
// instead of a descriptor (see RegisterFiles).
func (s *SQE) UseFixedFile(index int32) {
	s.Fd = index
	s.Flags |= SQEFixedFile
}

// PrepTimeout prepares a timeout that completes with -ETIME after d, or
// with 0 once count other completions have been posted (count 0: only the
// time counts). The timespec lives in the ring's per-slot storage, so the
// entry must come from this ring's NextSQE.
func (r *Ring) PrepTimeout(s *SQE, d time.Duration, count uint32, timeoutFlags uint32) {
	base := uintptr(unsafe.Pointer(unsafe.SliceData(r.sq.sqes)))
	slot := (uintptr(unsafe.Pointer(s)) - base) / unsafe.Sizeof(SQE{})
	ts := &r.timespecs[slot]
	*ts = Timespec{Sec: int64(d / time.Second), Nsec: int64(d % time.Second)}
	s.prepRW(OpTimeout, -1, uint64(uintptr(unsafe.Pointer(ts))), 1, uint64(count))
	s.OpFlags = timeoutFlags
}
