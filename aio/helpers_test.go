package aio

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/nowaitio/nowait/aio/internal/req"
	"github.com/nowaitio/nowait/ring"
)

// testBackend is the backend the suite runs on: NOWAIT_BACKEND=syscall
// runs every test on the fallback of blocking system calls (CI runs the
// package once per backend), and so does a machine where io_uring is
// refused (a seccomp profile, kernel.io_uring_disabled).
func testBackend() Backend {
	if os.Getenv("NOWAIT_BACKEND") == "syscall" || ringUnavailable() != nil {
		return BackendSyscall
	}
	return BackendIOUring
}

// ringUnavailable is why io_uring cannot be used here, or nil.
var ringUnavailable = sync.OnceValue(func() error {
	r, err := ring.New(ring.Config{Entries: 8})
	if err != nil {
		if ring.IsUnavailable(err) {
			return err
		}
		return nil // another failure: the io_uring tests report it
	}
	r.Close()
	return nil
})

// skipWithoutRing skips a test that needs the io_uring backend, saying
// what it tests and why there is no ring.
func skipWithoutRing(t testing.TB, what string) {
	t.Helper()
	if testBackend() == BackendIOUring {
		return
	}
	if err := ringUnavailable(); err != nil {
		t.Skipf("%s, and here %v", what, err)
	}
	t.Skipf("%s, and NOWAIT_BACKEND=syscall runs the suite without it", what)
}

func newRuntime(t testing.TB, cfg Config) *Runtime {
	t.Helper()
	if cfg.Backend == BackendAuto {
		cfg.Backend = testBackend()
	}
	rt, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

func openFile(t testing.TB, rt *Runtime, name string) *File {
	t.Helper()
	f, err := rt.Open(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func tempPath(t testing.TB) string { return filepath.Join(t.TempDir(), "data") }

// writtenFile opens, through rt, a new file of size bytes of zeros,
// written (no hole, no unwritten extent).
func writtenFile(t testing.TB, rt *Runtime, size int) *File {
	t.Helper()
	path := tempPath(t)
	if err := os.WriteFile(path, make([]byte, size), 0o600); err != nil {
		t.Fatal(err)
	}
	return openFile(t, rt, path)
}

// pattern is writer g's byte for file offset p: every writer's bytes
// differ from every other's and from zero, so a lost or misplaced write
// shows.
func pattern(g int, p int64) byte { return byte(1 + (int64(g)*53+p*7+p>>9)%251) }

// userDataOf is the UserData of r's IOCB (r is a request of a Context).
func userDataOf(r *req.Request) uint64 { return r.Sink.(*Context).iocbs[r.Slot].UserData }

// wakeTag is the user_data of the CQEs a Kick posts (engine's).
const wakeTag = ^uint64(0)
