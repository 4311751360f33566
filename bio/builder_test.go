package bio

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/ring"
)

func mem(t testing.TB, size int) []byte {
	t.Helper()
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(b) })
	return b
}

// TestBuilderSplits: an I/O longer than MaxBytes becomes several bios of
// the caller's memory, in order, each knowing where it starts in the
// request; pieces are never merged, registered-buffer ones included.
func TestBuilderSplits(t *testing.T) {
	m := mem(t, 3<<20)
	b := Builder{MaxBytes: 1 << 20}
	must(t, b.Add(OpRead, 1, false, 0, 0, m, NoFixedBuffer, 100))
	bios := b.Bios()
	if len(bios) != 3 {
		t.Fatalf("a 3 MiB read became %d bios, want 3 of 1 MiB", len(bios))
	}
	for i, bi := range bios {
		if bi.Len != 1<<20 || bi.Offset != int64(i)<<20 || bi.Seg.ReqOff != 100+int64(i)<<20 || &bi.Seg.Buf[0] != &m[i<<20] {
			t.Fatalf("bio %d: %s", i, describe(bios[i:i+1]))
		}
	}
	b = Builder{}
	must(t, b.Add(OpRead, 1, false, 0, 0, m[:4096], 0, 0))
	must(t, b.Add(OpRead, 1, false, 0, 4096, m[4096:8192], NoFixedBuffer, 4096))
	if bios := b.Bios(); len(bios) != 2 || bios[0].BufIndex != 0 || bios[1].Offset != 4096 {
		t.Fatalf("two contiguous adds: %s, want two bios in order", describe(bios))
	}
}

func TestBuilderAlignmentErrors(t *testing.T) {
	m := mem(t, 8192)
	b := Builder{Align: Alignment{Offset: 512, Memory: 4096}}
	cases := []struct {
		off  int64
		buf  []byte
		what string
	}{
		{100, m[:512], "offset"},
		{512, m[:100], "length"},
		{512, m[512:1024], "memory"},
	}
	for _, c := range cases {
		err := b.Add(OpWrite, 1, false, 0, c.off, c.buf, NoFixedBuffer, 0)
		var ae *AlignmentError
		if !errors.As(err, &ae) || ae.What != c.what {
			t.Errorf("off %d len %d: %v, want a %s AlignmentError", c.off, len(c.buf), err, c.what)
		}
	}
	if err := b.Add(OpWrite, 1, false, 0, -512, m[:512], NoFixedBuffer, 0); err == nil {
		t.Error("negative offset accepted")
	}
	if err := b.Add(OpWrite, 1, false, 0, 0, nil, NoFixedBuffer, 0); err == nil {
		t.Error("empty buffer accepted")
	}
	if b.Len() != 0 {
		t.Fatalf("rejected adds left %d pieces", b.Len())
	}
}

// TestBuilderBiosThroughTheRing writes bios split at MaxBytes through a
// real ring, reads them back, and compares the bytes.
func TestBuilderBiosThroughTheRing(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, fd := ringAndDirectFile(t)
	src := mem(t, 64<<10)
	for i := range src {
		src[i] = byte(i*13 + i/4096)
	}
	// Two 32K halves, the second added first; 8K bios at most.
	b := Builder{MaxBytes: 8 << 10, Align: Alignment{Offset: 512, Memory: 512}}
	for _, i := range []int{1, 0} {
		must(t, b.Add(OpWrite, fd, false, 0, int64(i)*32768, src[i*32768:(i+1)*32768], NoFixedBuffer, 0))
	}
	run := func(bios []Bio) {
		for i := range bios {
			s := r.NextSQE()
			bios[i].Prep(s)
			s.UserData = uint64(i)
		}
		if _, err := r.Submit(); err != nil {
			t.Fatal(err)
		}
		cqes := make([]ring.CQE, len(bios))
		if n, err := r.Wait(cqes, len(bios), 0); err != nil || n != len(bios) {
			t.Fatalf("wait: %d, %v", n, err)
		}
		for _, c := range cqes {
			if c.Res != int32(bios[c.UserData].Len) {
				t.Fatalf("bio %d: res %d, want %d", c.UserData, c.Res, bios[c.UserData].Len)
			}
		}
	}
	bios := b.Bios()
	if len(bios) != 8 {
		t.Fatalf("%d write bios, want 8 of 8K", len(bios))
	}
	run(bios)
	dst := mem(t, 64<<10)
	b.Reset()
	must(t, b.Add(OpRead, fd, false, 0, 0, dst, NoFixedBuffer, 0))
	run(b.Bios())
	if !bytes.Equal(src, dst) {
		t.Fatal("data read back differs from what was written")
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// describe prints bios without their memory.
func describe(bios []Bio) string {
	var sb strings.Builder
	for _, b := range bios {
		fmt.Fprintf(&sb, "[%v file %d flags %#x [%d, +%d) req off %d bounced %v] ", b.Op, b.File, b.Flags, b.Offset, b.Len, b.Seg.ReqOff, b.Seg.Bounced())
	}
	return sb.String()
}

// ringAndDirectFile makes a ring of 16 entries and a new O_DIRECT file in a
// temporary directory, both closed at the end of the test. The caller
// locks its OS thread first if it needs to (ring tests do not require it).
func ringAndDirectFile(t *testing.T) (*ring.Ring, int32) {
	t.Helper()
	r, err := ring.New(ring.Config{Entries: 16})
	if ring.IsUnavailable(err) {
		t.Skipf("sends bios through a real ring: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	f, err := os.OpenFile(filepath.Join(t.TempDir(), "f"), os.O_RDWR|os.O_CREATE|unix.O_DIRECT, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return r, int32(f.Fd())
}
