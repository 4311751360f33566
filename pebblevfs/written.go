package pebblevfs

import (
	"sort"
	"strings"
	"sync"
)

// Blocks just written. On vfs.Default the sstable a flush or compaction
// writes stays in the page cache, and the next Gets of its keys read it
// from memory; pebble's block cache knows nothing of a new file, so on
// direct I/O each of those Gets read a block from the device. With
// Options.WrittenCache > 0 the FS keeps the last WrittenCache bytes of
// sstable and blob data it wrote, in the gather buffers that wrote them
// (no copy for full ones), and serves reads that fall inside them from
// memory. Oldest first out. That memory is the user's to count against
// pebble's block cache: whether it pays is measured, not assumed
// (docs/decisions.md).
//
// Files pebble writes these kinds of once, front to back, and never
// changes: what was written stays right until the file is removed. An
// inode's entries go when the file is removed or renamed over through
// the FS, all of them on RemoveAll, and an inode's when a file is opened
// for writing (an inode number can come back). A file removed and its
// inode number reused by another program, around the FS, is the case
// this cannot see: the FS is for files pebble owns.

// recent is the FS's recently written data. Owner: shared; mu guards
// everything below it.
type recent struct {
	budget int64
	pool   *bufPool // where evicted full gather buffers go
	mu     sync.RWMutex
	files  map[inode][]chunk // each sorted by off
	fifo   []chunkRef        // insertion order, oldest first
	used   int64
}

// chunk is the file's bytes [off, off+len(buf)). Owner: recent's mu.
type chunk struct {
	off int64
	buf []byte
}

// chunkRef names a chunk in recent's insertion order. Owner: recent's mu.
type chunkRef struct {
	key inode
	off int64
}

// cacheable reports whether a file of this name is kept when written.
func cacheable(name string) bool {
	return strings.HasSuffix(name, ".sst") || strings.HasSuffix(name, ".blob")
}

// keep takes buf, the file key's bytes at off, for reads; it owns buf
// from now on.
func (c *recent) keep(key inode, off int64, buf []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs := c.files[key]
	i := sort.Search(len(cs), func(i int) bool { return cs[i].off >= off })
	if i < len(cs) && cs[i].off == off { // written again from there: the newer bytes
		c.used -= int64(len(cs[i].buf))
		c.free(cs[i].buf)
		cs[i].buf = buf
	} else {
		cs = append(cs, chunk{})
		copy(cs[i+1:], cs[i:])
		cs[i] = chunk{off: off, buf: buf}
		c.fifo = append(c.fifo, chunkRef{key, off})
	}
	c.files[key] = cs
	c.used += int64(len(buf))
	for c.used > c.budget && len(c.fifo) > 0 {
		c.evictOldest()
	}
}

func (c *recent) evictOldest() {
	ref := c.fifo[0]
	c.fifo = c.fifo[1:]
	cs := c.files[ref.key]
	i := sort.Search(len(cs), func(i int) bool { return cs[i].off >= ref.off })
	if i == len(cs) || cs[i].off != ref.off {
		return // dropped with its file
	}
	c.used -= int64(len(cs[i].buf))
	c.free(cs[i].buf)
	cs = append(cs[:i], cs[i+1:]...)
	if len(cs) == 0 {
		delete(c.files, ref.key)
	} else {
		c.files[ref.key] = cs
	}
}

// free gives a full gather buffer back to the pool.
func (c *recent) free(b []byte) {
	if cap(b) == gatherSize {
		c.pool.put(b)
	}
}

// drop forgets key's bytes (the file is removed, or its inode new).
func (c *recent) drop(key inode) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ch := range c.files[key] {
		c.used -= int64(len(ch.buf))
		c.free(ch.buf)
	}
	delete(c.files, key)
	// Its fifo entries find nothing when their turn comes.
}

// dropAll forgets everything kept.
func (c *recent) dropAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, cs := range c.files {
		for _, ch := range cs {
			c.free(ch.buf)
		}
		delete(c.files, key)
	}
	c.fifo, c.used = c.fifo[:0], 0
}

// read fills p from key's bytes at off if they are all kept, and
// reports whether they were.
func (c *recent) read(key inode, p []byte, off int64) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	cs := c.files[key]
	for done := 0; done < len(p); {
		pos := off + int64(done)
		// The last chunk that starts at or before pos. Chunks overlap
		// only where a flush kept a partial block, and the later one
		// starts with that block's bytes: it reaches at least as far.
		i := sort.Search(len(cs), func(i int) bool { return cs[i].off > pos }) - 1
		if i < 0 || pos >= cs[i].off+int64(len(cs[i].buf)) {
			return false
		}
		done += copy(p[done:], cs[i].buf[pos-cs[i].off:])
	}
	return true
}
