package bio

import "testing"

// Building, planning and bouncing are on the path of every I/O: reused,
// they allocate nothing.
func TestHotPathsAllocateNothing(t *testing.T) {
	m := mem(t, 1<<20)
	b := &Builder{Align: Alignment{Offset: 512, Memory: 512}}
	build := func() {
		b.Reset()
		for i := range 32 {
			b.Add(OpRead, 3, false, NoWait, int64(i)*8192, m[i*8192:(i+1)*8192], NoFixedBuffer, 0)
		}
		b.Bios()
	}
	build() // grow the arrays once, as the first batch does
	units := fixedUnits(512, 4096, 1<<20)
	pool, err := NewPool(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	cases := []struct {
		name string
		f    func()
	}{
		{"builder: 32 adds", build},
		{"PlanWrite", func() {
			p, _ := PlanWrite(1000, 100000, units)
			if p.NEdges != 2 {
				t.Fatalf("%d edges", p.NEdges)
			}
		}},
		{"PlanRead and Pieces", func() {
			p, _ := PlanRead(1000, 100000, 512)
			var pcs [3]Piece
			if got := p.Pieces(pcs[:0]); len(got) != 3 {
				t.Fatalf("%d pieces", len(got))
			}
		}},
		{"pool Get/Put", func() {
			buf, _ := pool.Get(4096)
			pool.Put(buf)
		}},
		{"alignment check", func() { b.Align.Check(4096, m[:4096]) }},
	}
	for _, c := range cases {
		if a := testing.AllocsPerRun(100, c.f); a != 0 {
			t.Errorf("%s: %v allocations per run, want 0", c.name, a)
		}
	}
}
