package aio

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// TestDSyncOnEveryPath: a write with FlagDSync, or through a handle opened
// with O_DSYNC or O_SYNC, is durable when it completes on every path. The
// fast path asks the kernel (RWF_DSYNC); a write the worker does (an
// unaligned write, an append) must sync itself before it completes. (The
// first build dropped FlagDSync on the worker: the write completed as
// acknowledged and was not durable.)
func TestDSyncOnEveryPath(t *testing.T) {
	rec := injectSys(t) // no faults: it counts the real calls
	// A step of one block: every append goes past the kernel's size, to
	// the worker.
	rt := newRuntime(t, Config{AppendStepMin: 4096, AppendStepMax: 4096})
	path := tempPath(t)
	if err := os.WriteFile(path, make([]byte, 1<<16), 0o600); err != nil {
		t.Fatal(err)
	}
	plain := openFile(t, rt, path)
	dsync, err := rt.Open(path, os.O_RDWR|syscall.O_DSYNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	syncf, err := rt.Open(path, os.O_RDWR|os.O_SYNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := rt.NewContext(1)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	fd := plain.ino.Fd
	slowWrites := []struct {
		name string
		off  int64
		n    int
	}{{"unaligned", 100, 50}, {"append", -1, 4096}} // -1: at the end
	for _, w := range slowWrites {
		for _, how := range []string{"FlagDSync", "O_DSYNC", "O_SYNC"} {
			before := rec.count(sysFdatasync, fd)
			buf := AlignedBuffer(w.n)
			off := w.off
			if off < 0 {
				off = plain.Size()
			}
			var err error
			switch how {
			case "FlagDSync":
				err = submitOne(ctx, &IOCB{Op: OpWrite, File: plain, Buf: buf, Offset: off, Flags: FlagDSync})
			case "O_DSYNC":
				_, err = dsync.WriteAt(buf, off)
			case "O_SYNC":
				_, err = syncf.WriteAt(buf, off)
			}
			if err != nil {
				t.Fatalf("%s write with %s: %v", w.name, how, err)
			}
			if rec.count(sysFdatasync, fd) == before {
				t.Errorf("%s write with %s completed without a sync", w.name, how)
			}
		}
	}
	before := rec.count(sysFdatasync, fd)
	if _, err := plain.WriteAt(make([]byte, 50), 300); err != nil {
		t.Fatal(err)
	}
	if rec.count(sysFdatasync, fd) != before {
		t.Errorf("a write without DSync synced")
	}
}

func submitOne(ctx *Context, cb *IOCB) error {
	if _, err := ctx.Submit(cb); err != nil {
		return err
	}
	var ev [1]Event
	if _, err := ctx.GetEvents(1, ev[:], 10*time.Second); err != nil {
		return err
	}
	return ev[0].Err
}
