package aio

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/aio/internal/inode"
)

// sysKind names one of the slow path's system calls.
type sysKind uint8

const (
	sysPread sysKind = iota
	sysPwrite
	sysFallocate
	sysFtruncate
	sysFsync
	sysFdatasync
	sysFstat
	sysKinds
)

var sysKindNames = [sysKinds]string{"pread", "pwrite", "fallocate", "ftruncate", "fsync", "fdatasync", "fstat"}

func (k sysKind) String() string { return sysKindNames[k] }

// sysRule fails call number nth (from 0) of kind with errno, once: the
// "fail op i of kind K" of pebble's errorfs, on the runtime's seam.
type sysRule struct {
	kind  sysKind
	nth   int
	errno unix.Errno
}

// faultySys wraps the real calls (the file still changes on disk; a fault
// replaces the call's answer before it is made), counts them per kind and
// descriptor, and fails the ones its rules name.
type faultySys struct {
	inner inode.Syscalls
	mu    sync.Mutex
	rules []sysRule
	calls [sysKinds]int
	perFd map[[2]int]int // (kind, fd) -> calls
	fired int            // rules that have fired
	// before, when set, sees each call's kind before it is made, and may
	// hold it (a stall).
	before func(k sysKind)
}

// injectSys puts a faultySys with rules in the seam for the rest of t.
func injectSys(t *testing.T, rules ...sysRule) *faultySys {
	t.Helper()
	f := &faultySys{inner: inode.Sys, rules: rules, perFd: map[[2]int]int{}}
	inode.Sys = f
	t.Cleanup(func() { inode.Sys = f.inner })
	return f
}

// fault counts a call and says which errno it gets instead of running.
func (f *faultySys) fault(k sysKind, fd int) unix.Errno {
	if f.before != nil {
		f.before(k)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.calls[k]
	f.calls[k]++
	f.perFd[[2]int{int(k), fd}]++
	for _, r := range f.rules {
		if r.kind == k && r.nth == n {
			f.fired++
			return r.errno
		}
	}
	return 0
}

func (f *faultySys) firedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fired
}

func (f *faultySys) count(k sysKind, fd int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.perFd[[2]int{int(k), fd}]
}

func (f *faultySys) Pread(fd int, p []byte, off int64) (int, error) {
	if e := f.fault(sysPread, fd); e != 0 {
		return 0, e
	}
	return f.inner.Pread(fd, p, off)
}

func (f *faultySys) Pwrite(fd int, p []byte, off int64) (int, error) {
	if e := f.fault(sysPwrite, fd); e != 0 {
		return 0, e
	}
	return f.inner.Pwrite(fd, p, off)
}

func (f *faultySys) Fallocate(fd int, mode uint32, off, length int64) error {
	if e := f.fault(sysFallocate, fd); e != 0 {
		return e
	}
	return f.inner.Fallocate(fd, mode, off, length)
}

func (f *faultySys) Ftruncate(fd int, size int64) error {
	if e := f.fault(sysFtruncate, fd); e != 0 {
		return e
	}
	return f.inner.Ftruncate(fd, size)
}

func (f *faultySys) Fsync(fd int) error {
	if e := f.fault(sysFsync, fd); e != 0 {
		return e
	}
	return f.inner.Fsync(fd)
}

func (f *faultySys) Fdatasync(fd int) error {
	if e := f.fault(sysFdatasync, fd); e != 0 {
		return e
	}
	return f.inner.Fdatasync(fd)
}

func (f *faultySys) Fstat(fd int, st *unix.Stat_t) error {
	if e := f.fault(sysFstat, fd); e != 0 {
		return e
	}
	return f.inner.Fstat(fd, st)
}

// sysStep is one request of the worker-path workload.
type sysStep struct {
	name string
	sync bool // a sync: after a failed sync it fails too (sticky)
	do   func(f *File, ctx *Context) error
}

// sysWorkload touches every call of the seam: unaligned writes (pread and
// pwrite of edges), appends past a one-block append step (fallocate),
// reads (pread on the syscall backend), Sync (ftruncate of the tail,
// fsync), a FlagDSync write (fdatasync), Truncate, Allocate, SyncData, and
// Close (the last cut-back).
func sysWorkload() []sysStep {
	steps := []sysStep{
		{"unaligned write", false, func(f *File, _ *Context) error { _, err := f.WriteAt(make([]byte, 100), 1000); return err }},
		{"append", false, func(f *File, _ *Context) error { _, err := f.WriteAt(AlignedBuffer(4096), f.Size()); return err }},
		{"unaligned read", false, func(f *File, _ *Context) error { _, err := f.ReadAt(make([]byte, 50), 3001); return err }},
		{"Sync", true, func(f *File, _ *Context) error { return f.Sync() }},
		{"FlagDSync write", false, func(f *File, ctx *Context) error {
			return submitOne(ctx, &IOCB{Op: OpWrite, File: f, Buf: make([]byte, 10), Offset: 20000, Flags: FlagDSync})
		}},
		{"Truncate", false, func(f *File, _ *Context) error { return f.Truncate(f.Size() - 100) }},
		{"Allocate", false, func(f *File, _ *Context) error { return f.Allocate(f.Size(), 8192) }},
		{"SyncData", true, func(f *File, _ *Context) error { return f.SyncData() }},
	}
	return append(steps, steps...)
}

// TestWorkerFaultsReachTheirRequest fails call i of each kind of the
// seam, for i = 0, 1, ... until the workload makes fewer calls: the
// request during which the fault fired gets that errno, every other
// request succeeds (but the syncs after a failed sync, which keep
// failing: fsyncgate), and the runtime keeps serving. An injected EINTR
// is retried and reaches no request.
func TestWorkerFaultsReachTheirRequest(t *testing.T) {
	for k := range sysKinds {
		if k == sysFstat {
			continue // made only after another call failed: TestFailedCallChecksSize
		}
		for _, errno := range []unix.Errno{unix.EIO, unix.EINTR} {
			t.Run(fmt.Sprintf("%v/%v", k, errno), func(t *testing.T) {
				hits := 0
				for i := 0; ; i++ {
					if !runSysFault(t, sysRule{k, i, errno}) {
						break
					}
					hits++
				}
				if hits == 0 {
					t.Errorf("the workload makes no %v call on this backend", k)
				}
				t.Logf("%d %v calls, each failed once", hits, k)
			})
		}
	}
}

// runSysFault runs the workload once under rule and reports whether the
// rule fired.
func runSysFault(t *testing.T, rule sysRule) bool {
	t.Helper()
	path := tempPath(t)
	if err := os.WriteFile(path, make([]byte, 64<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := injectSys(t, rule)
	defer func() { inode.Sys = fs.inner }()
	// Appends extend by one block, then two (the step doubles): the
	// second round leaves a tail for Sync to cut back on a worker.
	rt := newRuntime(t, Config{AppendStepMin: 4096, AppendStepMax: 8192})
	defer rt.Close()
	f := openFile(t, rt, path)
	ctx, err := rt.NewContext(1)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	sticky := false
	steps := append(sysWorkload(), sysStep{"Close", false, func(f *File, _ *Context) error { return f.Close() }})
	for _, st := range steps {
		before := fs.firedCount()
		err := st.do(f, ctx)
		fired := fs.firedCount() > before
		wantErr := rule.errno != unix.EINTR && (fired || (sticky && st.sync))
		if wantErr && !errors.Is(err, rule.errno) {
			t.Fatalf("%v call %d failed with %v during %s, which returned %v", rule.kind, rule.nth, rule.errno, st.name, err)
		}
		if !wantErr && err != nil {
			t.Fatalf("%s returned %v; the fault (%v call %d: %v) fired during it: %v", st.name, err, rule.kind, rule.nth, rule.errno, fired)
		}
		if fired && rule.errno != unix.EINTR && (rule.kind == sysFsync || rule.kind == sysFdatasync) {
			sticky = true
		}
	}
	return fs.firedCount() > 0
}

// TestFailedCallChecksSize: after a fallocate or an extending write
// fails, the runtime reads the file's size back (fstat) and puts it right
// before it answers; when that check fails too, the request's error says
// both, and the runtime keeps serving.
func TestFailedCallChecksSize(t *testing.T) {
	for _, second := range []unix.Errno{0, unix.EIO} {
		name := "fstat answers"
		if second != 0 {
			name = "fstat fails"
		}
		t.Run(name, func(t *testing.T) {
			path := tempPath(t)
			if err := os.WriteFile(path, make([]byte, 8192), 0o600); err != nil {
				t.Fatal(err)
			}
			rules := []sysRule{{sysFallocate, 0, unix.ENOSPC}}
			if second != 0 {
				rules = append(rules, sysRule{sysFstat, 0, second})
			}
			fs := injectSys(t, rules...)
			rt := newRuntime(t, Config{})
			f := openFile(t, rt, path)
			err := f.Allocate(8192, 1<<20)
			if !errors.Is(err, unix.ENOSPC) || (second != 0 && !errors.Is(err, second)) {
				t.Fatalf("Allocate: %v, want ENOSPC and %v", err, second)
			}
			if fs.count(sysFstat, f.ino.Fd) != 1 {
				t.Errorf("%d fstat calls after the failed fallocate, want 1", fs.count(sysFstat, f.ino.Fd))
			}
			if _, err := f.WriteAt([]byte("after"), 9000); err != nil {
				t.Fatalf("write after the failure: %v", err)
			}
			checkSizeAfterSync(t, f, path, 9005, "after a failed Allocate")
		})
	}
}
