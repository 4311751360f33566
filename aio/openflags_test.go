package aio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"testing"
)

// TestAppendHandlesNeverOverlap: several O_APPEND handles (two Runtimes)
// append records of odd sizes from many goroutines. Every record is found
// whole, once, and the size is the sum: no two appends overlapped, none
// was lost.
func TestAppendHandlesNeverOverlap(t *testing.T) {
	const handles, perHandle, goroutines = 4, 60, 3
	path := tempPath(t)
	rts := []*Runtime{newRuntime(t, Config{}), newRuntime(t, Config{})}
	hs := make([]*File, handles)
	for i := range hs {
		f, err := rts[i%2].Open(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		hs[i] = f
	}
	// A record: 8-byte header (handle, goroutine, sequence, length),
	// then its body of that length.
	record := func(h, g, seq int) []byte {
		n := 1 + (h*977+g*131+seq*53)%3000
		b := make([]byte, 8+n)
		binary.LittleEndian.PutUint16(b[0:], uint16(h))
		binary.LittleEndian.PutUint16(b[2:], uint16(g))
		binary.LittleEndian.PutUint16(b[4:], uint16(seq))
		binary.LittleEndian.PutUint16(b[6:], uint16(n))
		for i := range n {
			b[8+i] = pattern(h*8+g, int64(seq*4096+i))
		}
		return b
	}
	var want int64
	var wg sync.WaitGroup
	errs := make(chan error, handles*goroutines)
	for h := range handles {
		for g := range goroutines {
			for seq := range perHandle {
				want += int64(len(record(h, g, seq)))
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for seq := range perHandle {
					rec := record(h, g, seq)
					if n, err := hs[h].Write(rec); err != nil || n != len(rec) {
						errs <- fmt.Errorf("handle %d: Write: %d, %v", h, n, err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := hs[0].Size(); got != want {
		t.Fatalf("Size %d after the appends, want %d", got, want)
	}
	for _, h := range hs {
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) != want {
		t.Fatalf("size on disk %d, want %d", len(data), want)
	}
	seen := map[[3]int]bool{}
	for off := 0; off < len(data); {
		if off+8 > len(data) {
			t.Fatalf("a torn record header at %d", off)
		}
		h, g, seq := int(binary.LittleEndian.Uint16(data[off:])), int(binary.LittleEndian.Uint16(data[off+2:])), int(binary.LittleEndian.Uint16(data[off+4:]))
		if h >= handles || g >= goroutines || seq >= perHandle {
			t.Fatalf("garbage at %d: header %x (overlapping appends?)", off, data[off:off+8])
		}
		rec := record(h, g, seq)
		if !bytes.Equal(data[off:min(off+len(rec), len(data))], rec) {
			t.Fatalf("record (%d, %d, %d) at %d damaged", h, g, seq, off)
		}
		if seen[[3]int{h, g, seq}] {
			t.Fatalf("record (%d, %d, %d) twice", h, g, seq)
		}
		seen[[3]int{h, g, seq}] = true
		off += len(rec)
	}
	if len(seen) != handles*goroutines*perHandle {
		t.Fatalf("%d records found, want %d", len(seen), handles*goroutines*perHandle)
	}
}

// TestRefusedByModeChangesNothing: what a handle was not opened for is
// refused with the error os.File gives (EBADF for the access mode), and
// the file on disk is unchanged.
func TestRefusedByModeChangesNothing(t *testing.T) {
	rt := newRuntime(t, Config{})
	path := tempPath(t)
	orig := bytes.Repeat([]byte("0123456789"), 1000)
	if err := os.WriteFile(path, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	open := func(flag int) *File {
		f, err := rt.Open(path, flag, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	ro, wo, ap := open(os.O_RDONLY), open(os.O_WRONLY), open(os.O_RDWR|os.O_APPEND)
	rw := open(os.O_RDWR)
	buf := []byte("XXXX")
	ctx, err := rt.NewContext(4)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	cases := []struct {
		name  string
		call  func() error
		want  error
		ebadf bool
	}{
		{"WriteAt on O_RDONLY", func() error { _, err := ro.WriteAt(buf, 3); return err }, ErrReadOnly, true},
		{"OpWrite on O_RDONLY", func() error {
			_, err := ctx.Submit(&IOCB{Op: OpWrite, File: ro, Buf: buf, Offset: 5000})
			return err
		}, ErrReadOnly, true},
		{"Truncate on O_RDONLY", func() error { return ro.Truncate(10) }, ErrReadOnly, true},
		{"Allocate on O_RDONLY", func() error { return ro.Allocate(0, 1<<20) }, ErrReadOnly, true},
		{"ReadAt on O_WRONLY", func() error { _, err := wo.ReadAt(buf, 0); return err }, ErrWriteOnly, true},
		{"OpRead on O_WRONLY", func() error {
			_, err := ctx.Submit(&IOCB{Op: OpRead, File: wo, Buf: buf})
			return err
		}, ErrWriteOnly, true},
		{"WriteAt on O_APPEND", func() error { _, err := ap.WriteAt(buf, 0); return err }, ErrAppendWriteAt, false},
		{"OpWrite on O_APPEND", func() error {
			_, err := ctx.Submit(&IOCB{Op: OpWrite, File: ap, Buf: buf})
			return err
		}, ErrAppendWriteAt, false},
		{"Write without O_APPEND", func() error { _, err := rw.Write(buf); return err }, ErrNotAppend, false},
		{"Write on O_RDONLY|O_APPEND", func() error {
			f := open(os.O_RDONLY | os.O_APPEND)
			_, err := f.Write(buf)
			return err
		}, ErrReadOnly, true},
	}
	for _, c := range cases {
		err := c.call()
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if c.ebadf != errors.Is(err, syscall.EBADF) {
			t.Errorf("%s: errors.Is(%v, EBADF) = %v, want %v", c.name, err, !c.ebadf, c.ebadf)
		}
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, orig) {
		t.Fatalf("the file changed under refused calls (len %d, %v)", len(got), err)
	}
	// Reads through the read-only handles still work, and reads through
	// the O_APPEND one.
	for _, f := range []*File{ro, ap} {
		got := make([]byte, 10)
		if _, err := f.ReadAt(got, 10); err != nil || string(got) != "0123456789" {
			t.Fatalf("ReadAt: %q, %v", got, err)
		}
	}
}

// TestWriteOnlyTakesUnalignedWrites: an O_WRONLY handle takes writes that
// need their edges read (the runtime reads through its own descriptor).
func TestWriteOnlyTakesUnalignedWrites(t *testing.T) {
	rt := newRuntime(t, Config{})
	path := tempPath(t)
	orig := bytes.Repeat([]byte{0xEE}, 20000)
	if err := os.WriteFile(path, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := rt.Open(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Clone(orig)
	for _, w := range []struct{ off, n int }{{4099, 100}, {1, 1}, {8190, 5000}, {19999, 3}} {
		b := bytes.Repeat([]byte{byte(w.off)}, w.n)
		if _, err := f.WriteAt(b, int64(w.off)); err != nil {
			t.Fatalf("WriteAt(%d bytes at %d) on O_WRONLY: %v", w.n, w.off, err)
		}
		if end := w.off + w.n; end > len(want) {
			want = append(want, make([]byte, end-len(want))...)
		}
		copy(want[w.off:], b)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("file after O_WRONLY writes: len %d (want %d), first difference at %d, %v", len(got), len(want), firstDiff(got, want), err)
	}
}

// TestOpenCreateExclTrunc: O_CREATE, O_EXCL and O_TRUNC as os.OpenFile has
// them; O_TRUNC through a second handle is seen by the first.
func TestOpenCreateExclTrunc(t *testing.T) {
	rt := newRuntime(t, Config{})
	path := tempPath(t)
	if _, err := rt.Open(path, os.O_RDWR, 0); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open without O_CREATE of a missing file: %v, want ErrNotExist", err)
	}
	f, err := rt.Open(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o640&^umask() {
		t.Fatalf("created with mode %v, %v", st.Mode(), err)
	}
	if _, err := rt.Open(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); !errors.Is(err, os.ErrExist) {
		t.Fatalf("O_EXCL of an existing file: %v, want ErrExist", err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{1}, 10000), 0); err != nil {
		t.Fatal(err)
	}
	g, err := rt.Open(path, os.O_RDWR|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if f.Size() != 0 || g.Size() != 0 {
		t.Fatalf("after O_TRUNC: sizes %d and %d, want 0", f.Size(), g.Size())
	}
	buf := make([]byte, 10)
	if n, err := f.ReadAt(buf, 0); n != 0 || err == nil {
		t.Fatalf("first handle reads %d bytes (%v) after the second's O_TRUNC", n, err)
	}
	if err := errors.Join(f.Close(), g.Close()); err != nil {
		t.Fatal(err)
	}
	checkDiskSize(t, path, 0, "after O_TRUNC")
	if err := os.WriteFile(path, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Open(path, os.O_RDONLY|os.O_TRUNC, 0); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("O_RDONLY|O_TRUNC: %v, want EINVAL", err)
	}
	checkDiskSize(t, path, 4, "after a refused O_RDONLY|O_TRUNC")
}

func umask() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
}
