package aio

import (
	"bytes"
	"os"
	"testing"
)

// TestRewrittenTailReadsNothing: a sequential writer that keeps its
// partial last block and writes it again with each record, from the
// block's start (pebblevfs's WAL does), costs one write and no read: what lies past
// each write in its last unit never held data (inode.dataEnd). Where data
// does lie past the write's end in that unit, it is read and kept.
func TestRewrittenTailReadsNothing(t *testing.T) {
	rt := newRuntime(t, Config{})
	path := tempPath(t)
	f := openFile(t, rt, path)
	fs := injectSys(t)
	var want []byte
	rec := bytes.Repeat([]byte("r"), 100)
	for i := range 200 {
		rec[0] = byte(i)
		want = append(want, rec...)
		start := int64(len(want)-len(rec)) / 4096 * 4096
		if _, err := f.WriteAt(want[start:], start); err != nil {
			t.Fatal(err)
		}
	}
	if n := fs.count(sysPread, f.ino.Fd); n != 0 && f.ino.Direct {
		t.Errorf("200 records, each written again from its block's start, read %d times; want 0", n)
	}
	// Each in one write: the whole units and the zero-filled last one go
	// to the kernel together (writePlan's span), not as two I/Os.
	if n := fs.count(sysPwrite, f.ino.Fd); n > 200 && f.ino.Direct {
		t.Errorf("200 records took %d pwrites; want one each", n)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("file after the records: %d bytes, %v; want %d", len(got), err, len(want))
	}

	// Data past a write's end in its last unit: it is read, not zeroed.
	before := fs.count(sysPread, f.ino.Fd)
	if _, err := f.WriteAt([]byte("head"), 4096*4); err != nil {
		t.Fatal(err)
	}
	copy(want[4096*4:], "head")
	if fs.count(sysPread, f.ino.Fd) == before && f.ino.Direct {
		t.Error("a 4-byte write over data read nothing: the rest of its unit was zero-filled over data")
	}
	got, _ = os.ReadFile(path)
	if !bytes.Equal(got, want) {
		t.Fatal("a short write over data changed the bytes around it")
	}
}
