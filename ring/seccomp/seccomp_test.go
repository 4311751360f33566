package seccomp_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/ring"
	"github.com/nowaitio/nowait/ring/seccomp"
)

// A filter cannot be taken off, so each case runs in a child: the test
// binary again, told by the environment which filter to install.
const childEnv = "NOWAIT_SECCOMP_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(child(spec))
	}
	os.Exit(m.Run())
}

// child installs the filter spec names ("setup:EPERM") and reports what
// ring.New says: "ok", or the refused call and errno.
func child(spec string) int {
	call, errname, _ := strings.Cut(spec, ":")
	errno := map[string]unix.Errno{"EPERM": unix.EPERM, "ENOSYS": unix.ENOSYS}[errname]
	if err := seccomp.Refuse([]seccomp.Call{seccomp.Call(call)}, errno); err != nil {
		fmt.Println("refuse:", err)
		return 1
	}
	r, err := ring.New(ring.Config{Entries: 8})
	if err == nil {
		r.Close()
		fmt.Println("ok")
		return 0
	}
	var u *ring.UnavailableError
	if errors.As(err, &u) {
		fmt.Printf("unavailable %s %s\n", u.Call, u.Errno.Error())
		return 0
	}
	fmt.Println("other:", err)
	return 0
}

func TestRefuseMakesRingsUnavailable(t *testing.T) {
	if r, err := ring.New(ring.Config{Entries: 8}); err != nil {
		t.Skipf("io_uring is not usable here to begin with: %v", err)
	} else {
		r.Close()
	}
	cases := []struct{ spec, want string }{
		{"io_uring_setup:EPERM", "unavailable io_uring_setup " + unix.EPERM.Error()},
		{"io_uring_setup:ENOSYS", "unavailable io_uring_setup " + unix.ENOSYS.Error()},
		{"io_uring_enter:EPERM", "unavailable io_uring_enter " + unix.EPERM.Error()},
		{"io_uring_enter:ENOSYS", "unavailable io_uring_enter " + unix.ENOSYS.Error()},
		// Register alone refused: a ring still works (nowait only loses
		// fixed files and the eventfd).
		{"io_uring_register:EPERM", "ok"},
	}
	for _, c := range cases {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+c.spec)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: child: %v\n%s", c.spec, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != c.want {
			t.Errorf("%s: ring.New under the filter says %q, want %q", c.spec, got, c.want)
		}
	}
}

func TestBadFilters(t *testing.T) {
	if err := seccomp.Refuse(nil, unix.EPERM); err == nil {
		t.Error("Refuse of no calls: no error")
	}
	if err := seccomp.Refuse([]seccomp.Call{"io_uring_spin"}, unix.EPERM); err == nil || !strings.Contains(err.Error(), "unknown call") {
		t.Errorf("Refuse of an unknown call: %v", err)
	}
}
