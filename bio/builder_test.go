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

func TestBuilderMergesContiguousAcrossRequests(t *testing.T) {
	m := mem(t, 64<<10)
	b := Builder{Align: Alignment{Offset: 512, Memory: 512}}
	// Added out of order, three requests that together cover [8K, 20K),
	// one more on another file, one not contiguous, one with other flags.
	must(t, b.Add(OpWrite, 3, false, 0, 12<<10, m[0:4096], NoFixedBuffer, 2, 0))
	must(t, b.Add(OpWrite, 3, false, 0, 8<<10, m[4096:8192], NoFixedBuffer, 1, 0))
	must(t, b.Add(OpWrite, 3, false, 0, 16<<10, m[8192:12288], NoFixedBuffer, 3, 0))
	must(t, b.Add(OpWrite, 4, false, 0, 20<<10, m[12288:16384], NoFixedBuffer, 4, 0))
	must(t, b.Add(OpWrite, 3, false, 0, 32<<10, m[16384:20480], NoFixedBuffer, 5, 0))
	must(t, b.Add(OpWrite, 3, false, DSync, 20<<10, m[20480:24576], NoFixedBuffer, 6, 0))
	bios := b.Finish()
	if len(bios) != 4 {
		t.Fatalf("%d bios, want 4: %s", len(bios), describe(bios))
	}
	first := bios[0]
	if first.File != 3 || first.Offset != 8<<10 || first.Len != 12<<10 || len(first.Segs) != 3 {
		t.Fatalf("merged bio %s, want file 3 [8K, 20K) in 3 segments", describe(bios[:1]))
	}
	for i, owner := range []uint64{1, 2, 3} {
		if first.Segs[i].Owner != owner {
			t.Fatalf("segment %d owned by %d, want %d (in offset order)", i, first.Segs[i].Owner, owner)
		}
	}
	if &first.Segs[0].Buf[0] != &m[4096] {
		t.Fatal("segment memory is not the caller's (a copy was made)")
	}
	for _, bi := range bios[1:] {
		if bi.Flags == DSync && (bi.Offset != 20<<10 || len(bi.Segs) != 1) {
			t.Fatalf("DSync bio %s, want the DSync write kept apart", describe(bios))
		}
	}
}

func TestBuilderSplitsAndCaps(t *testing.T) {
	m := mem(t, 3<<20)
	b := Builder{MaxBytes: 1 << 20, MaxSegs: 2}
	must(t, b.Add(OpRead, 1, false, 0, 0, m, NoFixedBuffer, 7, 100))
	bios := b.Finish()
	if len(bios) != 3 {
		t.Fatalf("a 3 MiB read became %d bios, want 3 of 1 MiB", len(bios))
	}
	for i, bi := range bios {
		if bi.Len != 1<<20 || bi.Offset != int64(i)<<20 || bi.Segs[0].ReqOff != 100+int64(i)<<20 {
			t.Fatalf("bio %d: %s", i, describe(bios[i:i+1]))
		}
	}
	// Five contiguous 4K pieces with at most two segments a bio: 2+2+1.
	b = Builder{MaxSegs: 2}
	for i := range 5 {
		must(t, b.Add(OpRead, 1, false, 0, int64(i)*4096, m[i*4096:(i+1)*4096], NoFixedBuffer, uint64(i), 0))
	}
	bios = b.Finish()
	if len(bios) != 3 || len(bios[0].Segs) != 2 || len(bios[2].Segs) != 1 {
		t.Fatalf("segment cap: %d bios %s", len(bios), describe(bios))
	}
	// Registered-buffer pieces are never merged.
	b = Builder{}
	must(t, b.Add(OpRead, 1, false, 0, 0, m[:4096], 0, 1, 0))
	must(t, b.Add(OpRead, 1, false, 0, 4096, m[4096:8192], 0, 2, 0))
	if n := len(b.Finish()); n != 2 {
		t.Fatalf("fixed-buffer pieces merged into %d bios", n)
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
		err := b.Add(OpWrite, 1, false, 0, c.off, c.buf, NoFixedBuffer, 1, 0)
		var ae *AlignmentError
		if !errors.As(err, &ae) || ae.What != c.what {
			t.Errorf("off %d len %d: %v, want a %s AlignmentError", c.off, len(c.buf), err, c.what)
		}
	}
	if err := b.Add(OpWrite, 1, false, 0, -512, m[:512], NoFixedBuffer, 1, 0); err == nil {
		t.Error("negative offset accepted")
	}
	if err := b.Add(OpWrite, 1, false, 0, 0, nil, NoFixedBuffer, 1, 0); err == nil {
		t.Error("empty buffer accepted")
	}
	if b.Len() != 0 {
		t.Fatalf("rejected adds left %d pieces", b.Len())
	}
}

func TestDistributeShortCompletion(t *testing.T) {
	bi := Bio{Segs: []Segment{{Buf: make([]byte, 100), Owner: 1}, {Buf: make([]byte, 50), Owner: 2, ReqOff: 7}, {Buf: make([]byte, 10), Owner: 3}}}
	var got []int64
	bi.Distribute(120, func(owner uint64, reqOff, done int64) { got = append(got, int64(owner), reqOff, done) })
	want := []int64{1, 0, 100, 2, 7, 20, 3, 0, 0}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Distribute(120) = %v, want %v", got, want)
		}
	}
}

// TestBuilderBiosThroughTheRing writes merged bios with writev through a
// real ring, reads them back with merged readv, and compares the bytes.
func TestBuilderBiosThroughTheRing(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, fd := ringAndDirectFile(t)
	src := mem(t, 64<<10)
	for i := range src {
		src[i] = byte(i*13 + i/4096)
	}
	// Eight 8K requests, added in a scrambled order; 16K bios at most.
	b := Builder{MaxBytes: 16 << 10, Align: Alignment{Offset: 512, Memory: 512}}
	for _, i := range []int{5, 0, 7, 2, 1, 6, 3, 4} {
		must(t, b.Add(OpWrite, fd, false, 0, int64(i)*8192, src[i*8192:(i+1)*8192], NoFixedBuffer, uint64(i), 0))
	}
	run := func(bios []Bio) {
		iov := make([]unix.Iovec, 16*len(bios))
		for i := range bios {
			s := r.NextSQE()
			bios[i].Prep(s, iov[i*16:])
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
	bios := b.Finish()
	if len(bios) != 4 {
		t.Fatalf("%d write bios, want 4 of 16K", len(bios))
	}
	run(bios)
	dst := mem(t, 64<<10)
	b.Reset()
	for i := 7; i >= 0; i-- {
		must(t, b.Add(OpRead, fd, false, 0, int64(i)*8192, dst[i*8192:(i+1)*8192], NoFixedBuffer, uint64(i), 0))
	}
	run(b.Finish())
	if !bytes.Equal(src, dst) {
		t.Fatal("data read back through merged readv differs from what merged writev wrote")
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
		fmt.Fprintf(&sb, "[%v file %d flags %#x [%d, +%d) %d segs] ", b.Op, b.File, b.Flags, b.Offset, b.Len, len(b.Segs))
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
