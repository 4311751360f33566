package aio

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/ring"
	"github.com/nowaitio/nowait/ring/seccomp"
)

// fallbackChildEnv names, in a child of TestFallbackUnderSeccomp, the
// filter to install: a seccomp filter cannot be taken off again.
const fallbackChildEnv = "NOWAIT_AIO_SECCOMP_CHILD"

// TestFallbackUnderSeccomp: where a seccomp filter refuses io_uring_setup,
// or allows it and refuses io_uring_enter, New with BackendAuto falls back
// to the syscall backend and names the refused call, the File API works on
// it, and BackendIOUring fails with that cause. (With io_uring_enter
// refused, the first build picked io_uring and its first read never
// returned.)
func TestFallbackUnderSeccomp(t *testing.T) {
	if err := ringUnavailable(); err != nil {
		t.Skipf("io_uring is refused here already (%v): the whole suite runs on the fallback", err)
	}
	for _, c := range []struct {
		call  seccomp.Call
		errno string
	}{{seccomp.Setup, "EPERM"}, {seccomp.Setup, "ENOSYS"}, {seccomp.Enter, "EPERM"}, {seccomp.Enter, "ENOSYS"}} {
		spec := string(c.call) + ":" + c.errno
		cmd := exec.Command(os.Args[0], "-test.run=^TestFallbackChild$", "-test.v")
		cmd.Env = append(os.Environ(), fallbackChildEnv+"="+spec, "NOWAIT_BACKEND=")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "fallback ok: "+string(c.call)) {
			t.Errorf("%s: child failed (%v):\n%s", spec, err, out)
		}
	}
}

// TestFallbackChild runs only as TestFallbackUnderSeccomp's child.
func TestFallbackChild(t *testing.T) {
	spec := os.Getenv(fallbackChildEnv)
	if spec == "" {
		t.Skip("the child of TestFallbackUnderSeccomp; it runs only when that test starts it")
	}
	call, errname, _ := strings.Cut(spec, ":")
	errno := map[string]unix.Errno{"EPERM": unix.EPERM, "ENOSYS": unix.ENOSYS}[errname]
	if err := seccomp.Refuse([]seccomp.Call{seccomp.Call(call)}, errno); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Backend: BackendIOUring}); !ring.IsUnavailable(err) || !strings.Contains(err.Error(), call) {
		t.Fatalf("New with BackendIOUring under the filter: %v, want an UnavailableError naming %s", err, call)
	}
	rt, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	st := rt.Stats()
	if st.Backend != "syscall" || !strings.Contains(st.BackendReason, call) {
		t.Fatalf("Stats: backend %q, reason %q; want syscall, naming %s", st.Backend, st.BackendReason, call)
	}
	f := openFile(t, rt, tempPath(t))
	want := bytes.Repeat([]byte("fallback"), 1000)
	if _, err := f.WriteAt(want, 3); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(want))
	if _, err := f.ReadAt(got, 3); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read back on the fallback: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("fallback ok: %s (%s)\n", call, st.BackendReason)
}
