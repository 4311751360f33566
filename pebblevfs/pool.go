package pebblevfs

import (
	"sync"

	"github.com/nowaitio/nowait/aio"
)

// poolMax is how many free buffers or contexts of one kind an FS keeps;
// more go to the garbage collector, or are closed.
const poolMax = 16

// bufPool keeps free aligned buffers of one size: read-ahead windows and
// gather buffers, which the runtime reads and writes in place. Owner:
// shared; mu guards free.
type bufPool struct {
	size int
	mu   sync.Mutex
	free [][]byte
}

// get returns a free buffer of the pool's size.
func (p *bufPool) get() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if k := len(p.free); k > 0 {
		b := p.free[k-1]
		p.free = p.free[:k-1]
		return b
	}
	return aio.AlignedBuffer(p.size)
}

// put gives b (from get, maybe resliced) back.
func (p *bufPool) put(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) < poolMax {
		p.free = append(p.free, b[:p.size])
	}
}

// ctxPool keeps free Contexts of one depth, with nothing in flight.
// Owner: shared; mu guards free.
type ctxPool struct {
	depth int
	mu    sync.Mutex
	free  []*aio.Context
}

func (p *ctxPool) get(rt *aio.Runtime) (*aio.Context, error) {
	p.mu.Lock()
	if k := len(p.free); k > 0 {
		c := p.free[k-1]
		p.free = p.free[:k-1]
		p.mu.Unlock()
		return c, nil
	}
	p.mu.Unlock()
	return rt.NewContext(p.depth)
}

// put gives back c, which has nothing in flight and no event uncollected.
func (p *ctxPool) put(c *aio.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) < poolMax {
		p.free = append(p.free, c)
		return
	}
	c.Close()
}
