package ring

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The only raw io_uring syscalls of the project. They return raw errnos
// (unix.Errno): the layers above wrap them with context.

// sysSetupFn is io_uring_setup; a test replaces it to make the kernel
// appear to refuse a flag or io_uring altogether.
var sysSetupFn = sysSetup

func sysSetup(entries uint32, p *params) (int, error) {
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(p)), 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

// enter calls io_uring_enter, retrying only EINTR: Go's runtime sends
// preemption signals (SIGURG) often, and an interrupted call has consumed
// nothing, so calling again is always correct. An injected fault (see
// InjectEnterFaults) stands in for the kernel's answer before the call.
func (r *Ring) enter(toSubmit, minComplete, flags uint32, arg unsafe.Pointer, argSize uintptr) (int, error) {
	for {
		if r.enterFault != nil {
			if errno := r.enterFault(); errno == unix.EINTR {
				continue
			} else if errno != 0 {
				return 0, errno
			}
		}
		n, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit),
			uintptr(minComplete), uintptr(flags), uintptr(arg), argSize)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return int(n), errno
		}
		return int(n), nil
	}
}

func sysRegister(fd int, opcode uint32, arg unsafe.Pointer, nrArgs uint32) (int, error) {
	for {
		n, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(fd), uintptr(opcode),
			uintptr(arg), uintptr(nrArgs), 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return int(n), errno
		}
		return int(n), nil
	}
}

// SleepUnscheduled sleeps d on the calling thread with a raw nanosleep,
// which the Go scheduler does not see: the goroutine keeps its P and no
// thread is handed off or woken around the sleep. It is for a locked
// thread that only measures the machine (bench's stall meter, in a
// process of its own), where the scheduler's work around each 0.5 ms
// sleep cost twice the sleep's own CPU (0.24 s against 0.12 s over 5,000
// sleeps, with 20,000 context switches against 6,000). Nothing else may
// use it: a thread in it holds a P the runtime cannot take back. An
// interruption (the runtime's preemption signal) sleeps the rest.
func SleepUnscheduled(d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	for {
		_, _, errno := unix.RawSyscall(unix.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), uintptr(unsafe.Pointer(&ts)), 0)
		if errno != unix.EINTR {
			return
		}
	}
}
