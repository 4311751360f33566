package ring

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrClosed is returned by every method of a Ring after Close.
// It wraps os.ErrClosed, so errors.Is(err, os.ErrClosed) holds.
var ErrClosed = fmt.Errorf("ring: %w", os.ErrClosed)

// UnavailableError says that io_uring cannot be used on this machine and
// names the likely cause. Higher layers test for it with errors.As and fall
// back to blocking system calls.
type UnavailableError struct {
	Call  string     // the system call that was refused: "io_uring_setup" or "io_uring_enter"
	Errno unix.Errno // what it returned (0: it never answered; see Cause)
	Cause string     // the likely reason, in words for an operator
}

func (e *UnavailableError) Error() string {
	answer := "no completion"
	if e.Errno != 0 {
		answer = e.Errno.Error()
	}
	return "io_uring unavailable: " + e.Cause + " (" + e.Call + ": " + answer + ")"
}

func (e *UnavailableError) Unwrap() error { return e.Errno }

// IsUnavailable reports whether err says io_uring cannot be used here.
func IsUnavailable(err error) bool {
	var u *UnavailableError
	return errors.As(err, &u)
}

// enterUnavailable explains a ring that io_uring_setup made but
// io_uring_enter will not drive, or nil when the errno is an ordinary
// failure.
func enterUnavailable(errno unix.Errno) error {
	switch errno {
	case unix.ENOSYS, unix.EPERM, unix.EACCES:
		return &UnavailableError{"io_uring_enter", errno, "io_uring_setup works but io_uring_enter is refused: a seccomp filter or a security module lists only some of the io_uring calls"}
	}
	return nil
}

// unavailable explains an io_uring_setup failure, or returns nil when the
// errno is not one that means "io_uring is not usable here".
func unavailable(errno unix.Errno) error {
	switch errno {
	case unix.ENOSYS:
		return &UnavailableError{"io_uring_setup", errno, "the kernel has no io_uring (older than 5.1, or built without CONFIG_IO_URING), or a seccomp filter hides the system call (Docker's default profile does)"}
	case unix.EPERM, unix.EACCES:
		if v := readDisabledSysctl(); v != "" && v != "0" {
			return &UnavailableError{"io_uring_setup", errno, "kernel.io_uring_disabled is " + v + " (0 allows io_uring for everyone; 1 only for the io_uring_group; 2 for nobody)"}
		}
		return &UnavailableError{"io_uring_setup", errno, "not permitted: a seccomp filter or a security module refuses io_uring, or kernel.io_uring_disabled limits it to a group this process is not in"}
	}
	return nil
}

// disabledSysctlPath is a variable so that a test can point it elsewhere.
var disabledSysctlPath = "/proc/sys/kernel/io_uring_disabled"

func readDisabledSysctl() string {
	b, err := os.ReadFile(disabledSysctlPath)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
