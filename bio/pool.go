package bio

import (
	"errors"
	"fmt"
	"sort"
	"sync"

	"golang.org/x/sys/unix"
)

// Pool hands out page-aligned buffers from one mmap'd region: memory the
// garbage collector never moves or frees, which the kernel may write into
// after Submit returns, and which can be registered with a ring as a single
// fixed buffer (Region; every buffer is then fixed buffer 0). It serves
// bounce buffers (user memory that is not aligned) and read-modify-write
// units.
//
// Buffers come in size classes; Get takes the smallest class that fits.
// When a class is empty, Get says so rather than allocating: the caller
// waits for a completion to return one.
//
// Owner: shared; Get and Put are safe for concurrent use (one mutex, held
// for a few instructions).
type Pool struct {
	mem     []byte
	classes []poolClass // by size, ascending
	mu      sync.Mutex
	closed  bool
}

type poolClass struct {
	size  int
	base  int     // offset of the class's first buffer in mem
	free  []int32 // stack of free buffer numbers
	inUse []bool
}

// Buffer is a buffer from a Pool. B is its memory; the rest identifies it
// for Put.
type Buffer struct {
	B     []byte
	class int16
	idx   int32
}

// PoolClass asks for Count buffers of Size bytes (a multiple of the page
// size).
type PoolClass struct {
	Size, Count int
}

// DefaultPoolClasses: 256 × 4 KiB for read-modify-write units and small
// bounces, 32 × 64 KiB, 8 × 1 MiB for the largest bios (11 MiB in all).
var DefaultPoolClasses = []PoolClass{{4 << 10, 256}, {64 << 10, 32}, {1 << 20, 8}}

// ErrPoolClosed is returned by Put after Close.
var ErrPoolClosed = errors.New("bio: pool closed")

// NewPool maps the memory for classes (DefaultPoolClasses when nil).
func NewPool(classes []PoolClass) (*Pool, error) {
	if classes == nil {
		classes = DefaultPoolClasses
	}
	page := unix.Getpagesize()
	cs := append([]PoolClass(nil), classes...)
	sort.Slice(cs, func(i, j int) bool { return cs[i].Size < cs[j].Size })
	total := 0
	for _, c := range cs {
		if c.Size <= 0 || c.Size%page != 0 || c.Count <= 0 {
			return nil, fmt.Errorf("bio: pool class %d × %d bytes: size must be a positive multiple of %d and count positive", c.Count, c.Size, page)
		}
		total += c.Size * c.Count
	}
	if total == 0 {
		return nil, fmt.Errorf("bio: empty pool")
	}
	mem, err := unix.Mmap(-1, 0, total, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, fmt.Errorf("bio: mmap %d bytes for the buffer pool: %w", total, err)
	}
	p := &Pool{mem: mem}
	base := 0
	for _, c := range cs {
		pc := poolClass{size: c.Size, base: base, free: make([]int32, c.Count), inUse: make([]bool, c.Count)}
		for i := range pc.free {
			pc.free[i] = int32(c.Count - 1 - i)
		}
		p.classes = append(p.classes, pc)
		base += c.Size * c.Count
	}
	return p, nil
}

// Region is the whole pool's memory, to register with a ring.
func (p *Pool) Region() []byte { return p.mem }

// MaxSize is the largest buffer the pool can give.
func (p *Pool) MaxSize() int { return p.classes[len(p.classes)-1].size }

// Get returns a buffer of at least n bytes (B has exactly n), or false
// when every buffer big enough is in use (or n is larger than MaxSize).
func (p *Pool) Get(n int) (Buffer, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || n <= 0 {
		return Buffer{}, false
	}
	for ci := range p.classes {
		c := &p.classes[ci]
		if c.size < n || len(c.free) == 0 {
			continue
		}
		idx := c.free[len(c.free)-1]
		c.free = c.free[:len(c.free)-1]
		c.inUse[idx] = true
		off := c.base + int(idx)*c.size
		return Buffer{B: p.mem[off : off+n : off+c.size], class: int16(ci), idx: idx}, true
	}
	return Buffer{}, false
}

// Put returns b to the pool. Returning a buffer twice, or one that is not
// from this pool, is an error (and changes nothing).
func (p *Pool) Put(b Buffer) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrPoolClosed
	}
	if int(b.class) >= len(p.classes) || b.B == nil {
		return fmt.Errorf("bio: Put of a buffer that is not from this pool")
	}
	c := &p.classes[b.class]
	if b.idx < 0 || int(b.idx) >= len(c.inUse) || !c.inUse[b.idx] {
		return fmt.Errorf("bio: Put of buffer %d of class %d, which is not in use", b.idx, c.size)
	}
	c.inUse[b.idx] = false
	c.free = append(c.free, b.idx)
	return nil
}

// Close unmaps the pool. The caller must have reaped every I/O that uses
// its buffers.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrPoolClosed
	}
	p.closed = true
	return unix.Munmap(p.mem)
}
