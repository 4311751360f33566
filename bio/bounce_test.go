package bio

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/nowaitio/nowait/ring"
)

// TestBounceUnalignedMemory writes from and reads into Go heap memory at
// odd addresses with O_DIRECT: the Builder bounces it through the pool,
// the data arrives intact, and every bounce buffer is returned.
func TestBounceUnalignedMemory(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, fd := ringAndDirectFile(t)
	pool, err := NewPool([]PoolClass{{4096, 4}, {64 << 10, 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	heap := make([]byte, 3*4096+7)
	src := heap[7 : 7+3*4096] // 7 bytes off any alignment
	for i := range src {
		src[i] = byte(i*31 + 5)
	}
	b := Builder{Align: Alignment{Offset: 512, Memory: 512}, Pool: pool, MaxBytes: 8192}
	must(t, b.Add(OpWrite, fd, false, 0, 0, src, NoFixedBuffer, 0))
	src[0] ^= 0xff // the bounce copied at Add: changing the source now must not matter
	bios := b.Bios()
	if len(bios) != 2 || !bios[0].Seg.Bounced() {
		t.Fatalf("bios %s, want 2 bounced", describe(bios))
	}
	submitAll(t, r, bios, pool)
	src[0] ^= 0xff

	dstHeap := make([]byte, 3*4096+3)
	dst := dstHeap[3:]
	b.Reset()
	must(t, b.Add(OpRead, fd, false, 0, 0, dst, NoFixedBuffer, 0))
	submitAll(t, r, b.Bios(), pool)
	if !bytes.Equal(dst, src) {
		t.Fatal("data through bounce buffers differs")
	}
	// Every buffer is back: the pool can hand out all six again.
	for i := range 6 {
		if _, ok := pool.Get(1); !ok {
			t.Fatalf("bounce buffer %d was not returned", i)
		}
	}
	// An exhausted pool refuses the Add whole, and keeps nothing.
	b.Reset()
	if err := b.Add(OpWrite, fd, false, 0, 0, src, NoFixedBuffer, 0); err != ErrNoBounce || b.Len() != 0 {
		t.Fatalf("Add with an empty pool: %v, %d pieces", err, b.Len())
	}
}

func submitAll(t *testing.T, r *ring.Ring, bios []Bio, pool *Pool) {
	t.Helper()
	for i := range bios {
		s := r.NextSQE()
		bios[i].Prep(s)
		s.UserData = uint64(i)
	}
	if _, err := r.Submit(); err != nil {
		t.Fatal(err)
	}
	cqes := make([]ring.CQE, len(bios))
	if n, err := r.Wait(cqes, len(bios), 0); n != len(bios) || err != nil {
		t.Fatalf("wait: %d, %v", n, err)
	}
	for _, c := range cqes {
		bi := &bios[c.UserData]
		if c.Res != int32(bi.Len) {
			t.Fatalf("bio %d: res %d", c.UserData, c.Res)
		}
		if err := bi.Complete(pool, int64(c.Res)); err != nil {
			t.Fatal(err)
		}
	}
}
