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
	Errno unix.Errno // what io_uring_setup returned
	Cause string     // the likely reason, in words for an operator
}

func (e *UnavailableError) Error() string {
	return "io_uring unavailable: " + e.Cause + " (io_uring_setup: " + e.Errno.Error() + ")"
}

func (e *UnavailableError) Unwrap() error { return e.Errno }

// IsUnavailable reports whether err says io_uring cannot be used here.
func IsUnavailable(err error) bool {
	var u *UnavailableError
	return errors.As(err, &u)
}

// unavailable explains an io_uring_setup failure, or returns nil when the
// errno is not one that means "io_uring is not usable here".
func unavailable(errno unix.Errno) error {
	switch errno {
	case unix.ENOSYS:
		return &UnavailableError{errno, "the kernel has no io_uring (older than 5.1, or built without CONFIG_IO_URING), or a seccomp filter hides the system call (Docker's default profile does)"}
	case unix.EPERM, unix.EACCES:
		if v := readDisabledSysctl(); v != "" && v != "0" {
			return &UnavailableError{errno, "kernel.io_uring_disabled is " + v + " (0 allows io_uring for everyone; 1 only for the io_uring_group; 2 for nobody)"}
		}
		return &UnavailableError{errno, "not permitted: a seccomp filter or a security module refuses io_uring, or kernel.io_uring_disabled limits it to a group this process is not in"}
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
