// Package seccomp installs a seccomp filter that refuses some io_uring
// system calls with an errno, as container runtimes do (Docker's default
// profile refuses io_uring_setup; some hand-written profiles allow setup
// and refuse io_uring_enter). It exists to test nowait's fallback on a
// machine where io_uring works: cmd/nouring runs a command under it.
//
// A filter cannot be removed: it holds for the calling process, all its
// threads, and everything it executes after.
package seccomp

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Call is an io_uring system call a filter can refuse.
type Call string

const (
	Setup    Call = "io_uring_setup"
	Enter    Call = "io_uring_enter"
	Register Call = "io_uring_register"
)

var callNumbers = map[Call]uint32{
	Setup:    unix.SYS_IO_URING_SETUP,
	Enter:    unix.SYS_IO_URING_ENTER,
	Register: unix.SYS_IO_URING_REGISTER,
}

// auditArch is the AUDIT_ARCH_* value of the running architecture: the
// filter checks it, since a system call number means something else under
// another ABI.
func auditArch() (uint32, error) {
	switch runtime.GOARCH {
	case "amd64":
		return unix.AUDIT_ARCH_X86_64, nil
	case "arm64":
		return unix.AUDIT_ARCH_AARCH64, nil
	}
	return 0, fmt.Errorf("seccomp: no audit architecture known for GOARCH %s", runtime.GOARCH)
}

// Offsets in struct seccomp_data.
const (
	offNr   = 0
	offArch = 4
)

// program is the BPF filter: a foreign architecture passes untouched;
// each refused call returns errno; everything else is allowed.
func program(calls []Call, errno unix.Errno) ([]unix.SockFilter, error) {
	arch, err := auditArch()
	if err != nil {
		return nil, err
	}
	if len(calls) == 0 || len(calls) > 16 {
		return nil, fmt.Errorf("seccomp: %d calls to refuse, want 1 to 16", len(calls))
	}
	stmt := func(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }
	jeq := func(k uint32, jt, jf uint8) unix.SockFilter {
		return unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: jt, Jf: jf, K: k}
	}
	n := uint8(len(calls))
	prog := []unix.SockFilter{
		stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offArch),
		jeq(arch, 0, n+1), // foreign: jump to allow
		stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, offNr),
	}
	for i, c := range calls {
		nr, ok := callNumbers[c]
		if !ok {
			return nil, fmt.Errorf("seccomp: unknown call %q", c)
		}
		// Matched: jump over the rest of the tests and the allow.
		prog = append(prog, jeq(nr, n-uint8(i), 0))
	}
	return append(prog,
		stmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_ALLOW),
		stmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_ERRNO|uint32(errno)&0xffff),
	), nil
}

// Refuse installs, for every thread of the process and what it executes,
// a filter under which each of calls fails with errno.
func Refuse(calls []Call, errno unix.Errno) error {
	prog, err := program(calls, errno)
	if err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("seccomp: prctl(PR_SET_NO_NEW_PRIVS): %w", err)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	_, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if e != 0 {
		return fmt.Errorf("seccomp: seccomp(SECCOMP_SET_MODE_FILTER, TSYNC): %w", e)
	}
	return nil
}
