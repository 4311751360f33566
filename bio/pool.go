package bio

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

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
// Owner: shared; Get and Put are safe for concurrent use and take no lock
// (Submit plans bounces with Get, completions Put them back: a mutex
// shared by the two made a Submit wait for a completion).
type Pool struct {
	mem     []byte
	classes []poolClass // by size, ascending
	closed  atomic.Bool
	closeMu sync.Mutex // Close alone
}

// poolClass is one size's buffers and a lock-free stack of the free ones
// (Treiber's, with a tag against ABA: head holds the tag in its high 32
// bits and the top buffer's number + 1 in its low 32, 0 for none).
type poolClass struct {
	size  int
	base  int            // offset of the class's first buffer in mem
	head  atomic.Uint64  // tag << 32 | (top + 1)
	next  []atomic.Int32 // next[i]: the number + 1 of the buffer under i
	inUse []atomic.Bool
}

func (c *poolClass) pop() (int32, bool) {
	for {
		h := c.head.Load()
		top := int32(uint32(h))
		if top == 0 {
			return 0, false
		}
		under := c.next[top-1].Load()
		if c.head.CompareAndSwap(h, (h>>32+1)<<32|uint64(uint32(under))) {
			return top - 1, true
		}
	}
}

func (c *poolClass) push(idx int32) {
	for {
		h := c.head.Load()
		c.next[idx].Store(int32(uint32(h)))
		if c.head.CompareAndSwap(h, (h>>32+1)<<32|uint64(idx+1)) {
			return
		}
	}
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
		p.classes = append(p.classes, poolClass{size: c.Size, base: base,
			next: make([]atomic.Int32, c.Count), inUse: make([]atomic.Bool, c.Count)})
		pc := &p.classes[len(p.classes)-1]
		for i := c.Count - 1; i >= 0; i-- {
			pc.push(int32(i))
		}
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
	if p.closed.Load() || n <= 0 {
		return Buffer{}, false
	}
	for ci := range p.classes {
		c := &p.classes[ci]
		if c.size < n {
			continue
		}
		idx, ok := c.pop()
		if !ok {
			continue
		}
		c.inUse[idx].Store(true)
		off := c.base + int(idx)*c.size
		return Buffer{B: p.mem[off : off+n : off+c.size], class: int16(ci), idx: idx}, true
	}
	return Buffer{}, false
}

// Put returns b to the pool. Returning a buffer twice, or one that is not
// from this pool, is an error (and changes nothing).
func (p *Pool) Put(b Buffer) error {
	if p.closed.Load() {
		return ErrPoolClosed
	}
	if b.class < 0 || int(b.class) >= len(p.classes) || b.B == nil {
		return fmt.Errorf("bio: Put of a buffer that is not from this pool")
	}
	c := &p.classes[b.class]
	if b.idx < 0 || int(b.idx) >= len(c.inUse) || !c.inUse[b.idx].CompareAndSwap(true, false) {
		return fmt.Errorf("bio: Put of buffer %d of class %d, which is not in use", b.idx, c.size)
	}
	c.push(b.idx)
	return nil
}

// Close unmaps the pool. The caller must have reaped every I/O that uses
// its buffers.
func (p *Pool) Close() error {
	p.closeMu.Lock()
	defer p.closeMu.Unlock()
	if p.closed.Swap(true) {
		return ErrPoolClosed
	}
	return unix.Munmap(p.mem)
}
