package iomap

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/ring"
)

const kib = 1024

// layoutFile makes a file in t.TempDir (ext4, or the filesystem TMPDIR
// names) with [0, 16K) written, [16K, 32K) a hole and [32K, 48K)
// fallocate'd (unwritten); size 48K.
func layoutFile(t testing.TB) *os.File { return layoutFileFlags(t, 0) }

// layoutFileFlags is layoutFile with inode flags set while the file is
// empty (ring.InodeNoCOW: btrfs writes it in place).
func layoutFileFlags(t testing.TB, inodeFlags uint32) *os.File {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(t.TempDir(), "f"), os.O_RDWR|os.O_CREATE|unix.O_DIRECT, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if inodeFlags != 0 {
		old, err := ring.InodeFlags(int(f.Fd()))
		if err != nil {
			t.Fatal(err)
		}
		if err := ring.SetInodeFlags(int(f.Fd()), old|inodeFlags); err != nil {
			t.Fatal(err)
		}
	}
	buf := alignedMem(t, 16*kib)
	for i := range buf {
		buf[i] = byte(i*7 + 1)
	}
	if _, err := f.WriteAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fallocate(int(f.Fd()), 0, 32*kib, 16*kib); err != nil {
		t.Fatal(err)
	}
	return f
}

func alignedMem(t testing.TB, size int) []byte {
	t.Helper()
	b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(b) })
	return b
}

func newFileProvider(t testing.TB, f *os.File) *File {
	t.Helper()
	p, err := NewFile(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFileProviderFacts(t *testing.T) {
	p := newFileProvider(t, layoutFile(t))
	if p.BlockSize() != 4096 {
		t.Errorf("BlockSize %d, want ext4's 4096", p.BlockSize())
	}
	off, mem := p.DIOAlign()
	if off <= 0 || off&(off-1) != 0 || off > 4096 || mem <= 0 || mem&(mem-1) != 0 {
		t.Errorf("DIOAlign %d, %d: want powers of two up to 4096", off, mem)
	}
	if l, k := p.Sizes(); l != 48*kib || k != 48*kib {
		t.Errorf("Sizes %d, %d; want 48K", l, k)
	}
}

func TestFileProviderReads(t *testing.T) {
	p := newFileProvider(t, layoutFile(t))
	cases := []struct {
		pos       int64
		typ       Type
		off, end  int64
		knownZero bool
	}{
		{10 * kib, TypeMapped, 0, 16 * kib, false},
		{20 * kib, TypeHole, 16 * kib, 32 * kib, false},
		{40 * kib, TypeUnwritten, 32 * kib, 48 * kib, false}, // found by FIEMAP: not the runtime's own
		{48 * kib, TypeHole, 48 * kib, 52 * kib, true},       // past the logical size
	}
	for _, c := range cases {
		m, src, err := p.Begin(c.pos, 4*kib, Direct)
		if err != nil || src.Type != TypeNone {
			t.Fatalf("read at %d: %v, srcmap %v", c.pos, err, src)
		}
		if m.Type != c.typ || m.Offset != c.off || m.End() != c.end || (m.Flags&FlagKnownZero != 0) != c.knownZero {
			t.Errorf("read at %d: %v; want %v [%d, %d) knownZero %v", c.pos, m, c.typ, c.off, c.end, c.knownZero)
		}
	}
}

func TestFileProviderWritesUnderNoWait(t *testing.T) {
	p := newFileProvider(t, layoutFile(t))
	nw := Write | Direct | NoWait
	cases := []struct {
		name        string
		pos, length int64
		flags       ReqFlags
		want        error // nil: fast
		typ         Type
	}{
		{"overwrite 4K", 4 * kib, 4 * kib, nw, nil, TypeMapped},
		{"overwrite 512", 4*kib + 512, 512, nw, nil, TypeMapped},
		{"hole 4K", 20 * kib, 4 * kib, nw, ErrAllocates, 0},
		{"unwritten 4K", 36 * kib, 4 * kib, nw, nil, TypeUnwritten},
		{"unwritten 512", 36*kib + 512, 512, nw, ErrSubBlock, 0},
		{"unwritten 4K unaligned", 36*kib + 512, 4 * kib, nw, ErrSubBlock, 0},
		{"append", 48 * kib, 4 * kib, nw, ErrExtends, 0},
		{"overwrite-only unwritten", 36 * kib, 4 * kib, Write | OverwriteOnly, ErrNotOverwrite, 0},
		{"overwrite-only written", 0, 4 * kib, Write | OverwriteOnly, nil, TypeMapped},
		{"hole, may block", 20 * kib, 4 * kib, Write, nil, TypeHole},
		{"append, may block", 48 * kib, 4 * kib, Write, nil, TypeHole},
		{"unwritten 512, may block", 36*kib + 512, 512, Write, nil, TypeUnwritten},
	}
	for _, c := range cases {
		m, _, err := p.Begin(c.pos, c.length, c.flags)
		if c.want != nil {
			if err != c.want || !errors.Is(err, syscall.EAGAIN) {
				t.Errorf("%s: %v, want %v (an EAGAIN)", c.name, err, c.want)
			}
			continue
		}
		if err != nil || m.Type != c.typ || m.Offset > c.pos || m.End() <= c.pos {
			t.Errorf("%s: %v, %v; want a %v mapping covering %d", c.name, m, err, c.typ, c.pos)
		}
	}
	if m, _, _ := p.Begin(48*kib, 4*kib, Write); m.Flags&(FlagNew|FlagSizeChanged) != FlagNew|FlagSizeChanged {
		t.Errorf("append mapping %v lacks New|SizeChanged", m)
	}
	if m, _, _ := p.Begin(20*kib, 4*kib, Write); m.Flags&FlagNew == 0 {
		t.Errorf("hole mapping %v lacks New", m)
	}
	if _, _, err := p.Begin(12*kib, 8*kib, Write|Atomic); !errors.Is(err, unix.EINVAL) {
		t.Errorf("atomic write across two mappings: %v, want EINVAL", err)
	}
}

// TestFileProviderNotes follows the runtime's own actions on the file:
// what it allocates reads as known zeros until written, writes make blocks
// written storage, and every change invalidates older mappings.
func TestFileProviderNotes(t *testing.T) {
	f := layoutFile(t)
	p := newFileProvider(t, f)
	old, _, _ := p.Begin(20*kib, 4*kib, 0)

	// The runtime fills the hole [16K, 32K) with fallocate.
	if err := unix.Fallocate(int(f.Fd()), 0, 16*kib, 16*kib); err != nil {
		t.Fatal(err)
	}
	p.NoteAllocated(16*kib, 16*kib, false)
	if p.Valid(old) {
		t.Fatal("a mapping from before NoteAllocated is still valid")
	}
	m, _, _ := p.Begin(20*kib, 4*kib, 0)
	if m.Type != TypeUnwritten || m.Flags&FlagKnownZero == 0 || m.Offset != 16*kib || m.End() != 32*kib {
		t.Fatalf("after NoteAllocated: %v, want unwritten known-zero [16K, 32K)", m)
	}
	// Existing unwritten storage found by FIEMAP stays without the claim.
	if m, _, _ := p.Begin(40*kib, 4*kib, 0); m.Flags&FlagKnownZero != 0 {
		t.Fatalf("NoteAllocated claimed FIEMAP's unwritten range: %v", m)
	}

	// The runtime writes 10 bytes at 16K+100 (through the worker): the
	// whole block [16K, 20K) is now written, the rest still known zero.
	buf := alignedMem(t, 4*kib)
	buf[100] = 1
	if _, err := f.WriteAt(buf, 16*kib); err != nil {
		t.Fatal(err)
	}
	p.NoteWritten(16*kib+100, 10)
	// (It merges with the written [0, 16K) before it.)
	if m, _, _ := p.Begin(16*kib+200, 10, 0); m.Type != TypeMapped || m.Offset != 0 || m.End() != 20*kib {
		t.Fatalf("after NoteWritten: %v, want mapped [0, 20K)", m)
	}
	if m, _, _ := p.Begin(20*kib, 4*kib, 0); m.Type != TypeUnwritten || m.Flags&FlagKnownZero == 0 {
		t.Fatalf("rest of the allocation after NoteWritten: %v", m)
	}

	// Refresh from FIEMAP keeps the claim where FIEMAP agrees.
	if err := p.Refresh(); err != nil {
		t.Fatal(err)
	}
	if m, _, _ := p.Begin(24*kib, 4*kib, 0); m.Type != TypeUnwritten || m.Flags&FlagKnownZero == 0 {
		t.Fatalf("after Refresh: %v, want unwritten known-zero", m)
	}
	if m, _, _ := p.Begin(16*kib, 4*kib, 0); m.Type != TypeMapped {
		t.Fatalf("after Refresh, the written block: %v", m)
	}

	// An overwrite of written storage changes nothing: no cookie bump.
	cur, _, _ := p.Begin(0, 4*kib, 0)
	p.NoteWritten(0, 4*kib)
	if !p.Valid(cur) {
		t.Fatal("an overwrite of written storage invalidated mappings")
	}

	// Growing the kernel's size adds a known-zero hole; the logical size
	// decides what reads see.
	if err := f.Truncate(64 * kib); err != nil {
		t.Fatal(err)
	}
	p.NoteKernelSize(64 * kib)
	p.SetLogicalSize(64 * kib)
	if m, _, _ := p.Begin(56*kib, 4*kib, 0); m.Type != TypeHole || m.Flags&FlagKnownZero == 0 {
		t.Fatalf("grown size: %v, want a known-zero hole", m)
	}
	if _, _, err := p.Begin(56*kib, 4*kib, Write|NoWait); err != ErrAllocates {
		t.Fatalf("NoWait write into the grown hole: %v", err)
	}
	// Shrinking drops what lay past the new size.
	if err := f.Truncate(8 * kib); err != nil {
		t.Fatal(err)
	}
	p.NoteKernelSize(8 * kib)
	p.SetLogicalSize(8 * kib)
	if _, _, err := p.Begin(12*kib, 4*kib, Write|NoWait); err != ErrExtends {
		t.Fatalf("NoWait write past the shrunk size: %v", err)
	}
	if m, _, _ := p.Begin(12*kib, 4*kib, 0); m.Flags&FlagPastSize == 0 {
		t.Fatalf("read past the shrunk size: %v", m)
	}
}

func TestFileProviderInvalidate(t *testing.T) {
	p := newFileProvider(t, layoutFile(t))
	p.Invalidate()
	if _, _, err := p.Begin(0, 4*kib, Write|NoWait); err != ErrUnknownMap {
		t.Fatalf("NoWait write with an unknown map: %v, want ErrUnknownMap", err)
	}
	if m, _, err := p.Begin(0, 4*kib, 0); err != nil || m.Type != TypeMapped {
		t.Fatalf("a read needs no map: %v, %v", m, err)
	}
	if err := p.Refresh(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Begin(0, 4*kib, Write|NoWait); err != nil {
		t.Fatalf("after Refresh: %v", err)
	}
}

func TestNewFileRejects(t *testing.T) {
	d, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := NewFile(int(d.Fd())); err == nil {
		t.Error("NewFile of a directory succeeded")
	}
	if _, err := NewFile(-1); err == nil {
		t.Error("NewFile(-1) succeeded")
	}
}

func TestDeviceProvider(t *testing.T) {
	f := layoutFile(t)
	d, err := NewDevice(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if d.Size() != 48*kib {
		t.Fatalf("Size %d", d.Size())
	}
	m, _, err := d.Begin(5000, 100, Write|NoWait)
	if err != nil || m.Type != TypeMapped || m.AddrOf(5000) != 5000 || m.End() != 48*kib {
		t.Fatalf("identity mapping: %v, %v", m, err)
	}
	if _, _, err := d.Begin(48*kib, 1, Write); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write past the device: %v", err)
	}
	if m, _, err := d.Begin(48*kib, 10, 0); err != nil || m.Flags&FlagPastSize == 0 {
		t.Fatalf("read past the device: %v, %v", m, err)
	}
	var it Iter
	it.Reset(d, 100, 1000, Write|NoWait)
	segs := 0
	for it.Next() {
		segs++
		it.Advance(it.Length())
	}
	if it.Err() != nil || segs != 1 {
		t.Fatalf("iterating the device: %d segments, %v", segs, it.Err())
	}
}

// Both providers are Providers: the runtime holds one and never asks which.
var _, _ Provider = (*File)(nil), (*Device)(nil)

// TestReadersDoNotWaitForWriters: a writer of the map held inside its
// update (UpdateHook stalls it) does not hold up Begin, Sizes or Valid,
// which read the snapshot published before it; once it publishes, they
// see its change. Submit maps every request with these: with a lock
// shared with the writers it waited 4-7 ms behind completions.
func TestReadersDoNotWaitForWriters(t *testing.T) {
	f := layoutFile(t)
	p := newFileProvider(t, f)
	stalled, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	UpdateHook = func() {
		once.Do(func() { close(stalled) })
		<-release
	}
	t.Cleanup(func() { UpdateHook = nil })
	before, _, _ := p.Begin(32*kib, 4*kib, Write|NoWait)
	wrote := make(chan struct{})
	go func() {
		p.NoteWritten(32*kib, 4*kib) // unwritten → written: an update
		close(wrote)
	}()
	<-stalled
	read := make(chan string, 1)
	go func() {
		m, _, _ := p.Begin(32*kib, 4*kib, Write|NoWait)
		logical, _ := p.Sizes()
		switch {
		case m.Type != TypeUnwritten || !p.Valid(before):
			read <- fmt.Sprintf("a reader saw a change not yet published: %v", m)
		case logical != 48*kib:
			read <- fmt.Sprintf("Sizes: logical %d", logical)
		default:
			read <- ""
		}
	}()
	select {
	case msg := <-read:
		if msg != "" {
			t.Fatal(msg)
		}
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("a reader of the map waited for a writer held inside its update")
	}
	select {
	case <-wrote:
		t.Fatal("the writer finished while its update was held")
	default:
	}
	close(release)
	<-wrote
	if m, _, _ := p.Begin(32*kib, 4*kib, Write|NoWait); m.Type != TypeMapped || p.Valid(before) {
		t.Fatalf("after the writer published: %v (old mapping still valid: %v)", m, p.Valid(before))
	}
}
