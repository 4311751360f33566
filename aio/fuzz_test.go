package aio

import (
	"errors"
	"os"
	"testing"
	"time"
)

// FuzzSubmit feeds arbitrary IOCBs to Submit: it must never panic; an IOCB
// it accepts must complete, with a result or an error, never a panic; an
// IOCB it refuses gets one of the documented errors.
func FuzzSubmit(f *testing.F) {
	f.Add(uint8(OpWrite), int64(0), uint32(4096), uint8(0), uint8(0))
	f.Add(uint8(OpRead), int64(-1), uint32(10), uint8(0), uint8(1))
	f.Add(uint8(0), int64(1<<62), uint32(0), uint8(2), uint8(2))
	f.Add(uint8(OpFsync), int64(5), uint32(3), uint8(3), uint8(3))
	rt, err := New(Config{Backend: testBackend(), Shards: 1})
	if err != nil {
		f.Fatal(err)
	}
	defer rt.Close()
	other, err := New(Config{Backend: testBackend(), Shards: 1})
	if err != nil {
		f.Fatal(err)
	}
	defer other.Close()
	dir := f.TempDir()
	good, err := rt.Open(dir+"/good", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		f.Fatal(err)
	}
	closed, _ := rt.Open(dir+"/closed", os.O_RDWR|os.O_CREATE, 0o600)
	closed.Close()
	foreign, _ := other.Open(dir+"/foreign", os.O_RDWR|os.O_CREATE, 0o600)
	ro, _ := rt.Open(dir+"/good", os.O_RDONLY, 0)
	wo, _ := rt.Open(dir+"/good", os.O_WRONLY, 0)
	ap, _ := rt.Open(dir+"/good", os.O_RDWR|os.O_APPEND, 0)
	files := []*File{good, nil, closed, foreign, ro, wo, ap}
	ctx, _ := rt.NewContext(4)
	documented := []error{ErrNilIOCB, ErrNilFile, ErrUnknownOp, ErrNegativeOffset, ErrBufferTooLarge, ErrOtherRuntime, os.ErrClosed,
		ErrReadOnly, ErrWriteOnly, ErrAppendWriteAt, ErrBadLength}
	f.Fuzz(func(t *testing.T, op uint8, off int64, size uint32, fileKind, flags uint8) {
		size %= 1 << 20 // keep the I/O small: the fuzzer explores validation, not the disk
		off %= 1 << 30  // and stays within 1 GiB of the start, negatives kept
		if Op(op) == OpAllocate {
			off %= 16 << 20 // allocations stay within 16 MiB: a long fuzz must not fill the disk
		}
		cb := &IOCB{Op: Op(op), File: files[int(fileKind)%len(files)], Buf: make([]byte, size), Offset: off, Flags: Flag(flags)}
		if fileKind%11 == 10 { // independent of the file chosen
			cb = nil
		}
		n, err := ctx.Submit(cb)
		if err != nil {
			for _, d := range documented {
				if errors.Is(err, d) {
					return
				}
			}
			t.Fatalf("Submit(%+v): undocumented error %v", cb, err)
		}
		if n != 1 {
			t.Fatalf("Submit accepted %d of 1 without an error", n)
		}
		var ev [1]Event
		if got, err := ctx.GetEvents(1, ev[:], 30*time.Second); got != 1 || err != nil {
			t.Fatalf("the accepted IOCB %+v did not complete: %d, %v", cb, got, err)
		}
	})
}
