package pebblevfs

import "github.com/nowaitio/nowait/aio"

// A file written through (the write-ahead log) keeps its partial last
// block: each Write goes to the runtime from that block's start, with the
// block's earlier bytes from memory, so that the runtime reads nothing
// back (it zero-fills the rest of the last block, where no data has been:
// aio's inode.dataEnd). Without it, a WAL record that does not start on a
// block boundary cost a read of its first block before the write.

// tail is buf[:n], the file's bytes from off (a block boundary) to the
// writer's position, while valid. Owner: the file's mu.
type tail struct {
	buf   []byte
	off   int64
	n     int
	valid bool
}

// tailWrite is Write for a file written through. mu is held.
func (f *file) tailWrite(p []byte) (int, error) {
	t := f.t
	if !t.valid || t.off+int64(t.n) != f.pos {
		t.valid = f.pos%blockSize == 0 // nothing before the position in its block
		t.off, t.n = f.pos, 0
	}
	if !t.valid {
		return f.writeThrough(p)
	}
	total := t.n + len(p)
	if total > len(t.buf) {
		nb := aio.AlignedBuffer(max(2*len(t.buf), (total+blockSize-1)/blockSize*blockSize, 64<<10))
		copy(nb, t.buf[:t.n])
		t.buf = nb
	}
	copy(t.buf[t.n:], p)
	n, err := f.f.WriteAt(t.buf[:total], t.off)
	if err != nil {
		t.valid = false
		wrote := max(n-t.n, 0)
		f.pos += int64(wrote)
		return wrote, err
	}
	f.pos += int64(len(p))
	whole := total / blockSize * blockSize
	copy(t.buf, t.buf[whole:total])
	t.off += int64(whole)
	t.n = total - whole
	return len(p), nil
}

// writeThrough writes p at the position without a known tail, and keeps
// the new partial block if p reaches back to its start.
func (f *file) writeThrough(p []byte) (int, error) {
	t := f.t
	n, err := f.f.WriteAt(p, f.pos)
	start := f.pos
	f.pos += int64(n)
	if err != nil {
		return n, err
	}
	if blockOff := f.pos / blockSize * blockSize; blockOff >= start {
		rest := p[blockOff-start : n]
		if len(rest) > len(t.buf) {
			t.buf = aio.AlignedBuffer(max(64<<10, blockSize))
		}
		t.off, t.n, t.valid = blockOff, copy(t.buf, rest), true
	}
	return n, nil
}

// tailOverlaps reports whether [off, off+n) reaches the bytes the tail
// holds (a WriteAt there makes them stale). mu is held.
func (f *file) tailOverlaps(off int64, n int) bool {
	t := f.t
	return t != nil && t.valid && off < t.off+int64(t.n) && off+int64(n) > t.off
}
