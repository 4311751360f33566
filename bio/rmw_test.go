package bio

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/iomap"
)

func fixedUnits(headUnit, tailUnit int64, split int64) UnitFunc {
	return func(pos int64) (int64, bool, error) {
		if pos < split {
			return headUnit, false, nil
		}
		return tailUnit, true, nil
	}
}

func TestPlanWriteCases(t *testing.T) {
	u512 := fixedUnits(512, 512, 1<<40)
	cases := []struct {
		name        string
		off, length int64
		units       UnitFunc
		edges       []Edge
		mid         Range
	}{
		{"aligned", 4096, 8192, u512, nil, Range{4096, 8192}},
		{"head only", 100, 924, u512, []Edge{{Off: 0, Len: 512, DataOff: 100, DataLen: 412, ReqOff: 0}}, Range{512, 512}},
		{"tail only", 512, 600, u512, []Edge{{Off: 1024, Len: 512, DataOff: 0, DataLen: 88, ReqOff: 512}}, Range{512, 512}},
		{"inside one unit", 600, 10, u512, []Edge{{Off: 512, Len: 512, DataOff: 88, DataLen: 10, ReqOff: 0}}, Range{}},
		{"both edges", 100, 1000, u512, []Edge{{Off: 0, Len: 512, DataOff: 100, DataLen: 412}, {Off: 1024, Len: 512, DataOff: 0, DataLen: 76, ReqOff: 924}}, Range{512, 512}},
		// Head in written storage (unit 512), tail in unwritten (unit 4096, zeros known).
		{"mixed units", 8192 + 100, 8192, fixedUnits(512, 4096, 12288),
			[]Edge{{Off: 8192, Len: 512, DataOff: 100, DataLen: 412}, {Off: 16384, Len: 4096, ZeroFill: true, DataOff: 0, DataLen: 100, ReqOff: 8092}},
			Range{8704, 7680}},
		// Both ends in one unwritten block: one 4K edge, all zeros known.
		{"sub-block in unwritten", 4096 + 512, 512, fixedUnits(4096, 4096, 0),
			[]Edge{{Off: 4096, Len: 4096, ZeroFill: true, DataOff: 512, DataLen: 512}}, Range{}},
	}
	for _, c := range cases {
		p, err := PlanWrite(c.off, c.length, c.units)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if p.NEdges != len(c.edges) || p.Mid != c.mid {
			t.Fatalf("%s: %+v, want edges %+v mid %+v", c.name, p, c.edges, c.mid)
		}
		for i, e := range c.edges {
			if p.Edges[i] != e {
				t.Fatalf("%s: edge %d %+v, want %+v", c.name, i, p.Edges[i], e)
			}
		}
	}
	for _, bad := range [][2]int64{{-1, 10}, {0, 0}, {0, -5}} {
		if _, err := PlanWrite(bad[0], bad[1], u512); err == nil {
			t.Errorf("PlanWrite(%d, %d) accepted", bad[0], bad[1])
		}
	}
	if _, err := PlanWrite(0, 10, fixedUnits(300, 300, 1<<40)); err == nil {
		t.Error("a unit that is not a power of two was accepted")
	}
}

// FuzzPlanWrite checks the plan's invariants for any write and any mix of
// units: edges and middle are aligned to their units, disjoint, carry every
// byte of the write exactly once, and the locks are the edges.
func FuzzPlanWrite(f *testing.F) {
	f.Add(int64(100), int64(1000), uint8(9), uint8(12), int64(600))
	f.Add(int64(4096), int64(4096), uint8(12), uint8(12), int64(0))
	f.Fuzz(func(t *testing.T, off, length int64, hu, tu uint8, split int64) {
		if off < 0 || length <= 0 || off > 1<<40 || length > 1<<24 {
			t.Skip("outside the explored range")
		}
		headUnit, tailUnit := int64(1)<<(hu%13), int64(1)<<(tu%13)
		// Storage changes kind only on a boundary of the larger unit
		// (filesystem extents are block-aligned).
		big := max(headUnit, tailUnit)
		split = split / big * big
		units := fixedUnits(headUnit, tailUnit, split)
		p, err := PlanWrite(off, length, units)
		if err != nil {
			t.Fatal(err)
		}
		covered := make(map[int64]int) // write byte -> times carried (sampled at the range ends)
		carry := func(reqOff, n int64) {
			for _, k := range []int64{reqOff, reqOff + n - 1} {
				covered[k]++
			}
		}
		var pieces []Range
		for _, e := range p.EdgeList() {
			u, _, _ := units(e.Off)
			uEnd, _, _ := units(e.End() - 1)
			if e.Off%min(u, uEnd) != 0 || e.Len%min(u, uEnd) != 0 {
				t.Fatalf("edge %+v not aligned to its units %d/%d", e, u, uEnd)
			}
			if e.DataOff < 0 || e.DataLen <= 0 || e.DataOff+e.DataLen > e.Len || e.Off+e.DataOff != off+e.ReqOff {
				t.Fatalf("edge %+v does not place the write's bytes right (write at %d)", e, off)
			}
			carry(e.ReqOff, e.DataLen)
			pieces = append(pieces, Range{e.Off, e.Len})
		}
		if p.Mid.Len > 0 {
			mu, _, _ := units(p.Mid.Off)
			me, _, _ := units(p.Mid.Off + p.Mid.Len - 1)
			if p.Mid.Off%mu != 0 || (p.Mid.Off+p.Mid.Len)%me != 0 {
				t.Fatalf("middle %+v not aligned (units %d, %d)", p.Mid, mu, me)
			}
			carry(p.Mid.Off-off, p.Mid.Len)
			pieces = append(pieces, p.Mid)
		}
		var total int64
		for i, a := range pieces {
			for _, b := range pieces[i+1:] {
				if a.Off < b.Off+b.Len && b.Off < a.Off+a.Len {
					t.Fatalf("pieces %+v and %+v overlap", a, b)
				}
			}
		}
		for _, e := range p.EdgeList() {
			total += e.DataLen
		}
		total += p.Mid.Len
		if total != length {
			t.Fatalf("plan carries %d bytes of a %d-byte write: %+v", total, length, p)
		}
		for k, n := range covered {
			if n != 1 && !(n == 2 && length == 1) && !(n == 2 && isSingleByteRange(p, k)) {
				t.Fatalf("write byte %d carried %d times: %+v", k, n, p)
			}
		}
	})
}

// isSingleByteRange: a 1-byte edge or middle samples the same byte twice.
func isSingleByteRange(p Plan, k int64) bool {
	for _, e := range p.EdgeList() {
		if e.ReqOff == k && e.DataLen == 1 {
			return true
		}
	}
	return p.Mid.Len == 1 && p.Mid.Off-p.Off == k
}

// TestPlanAgainstModelOnExt4 applies random writes of random length and
// alignment to a real file through PlanWrite (read or zero-fill the edges,
// merge, write whole units with O_DIRECT), and the same writes to a byte
// slice; the file must equal the model. The units come from the real
// iomap provider of the file: written storage takes 512-byte units,
// unwritten storage, holes and the space past the end whole 4K blocks.
func TestPlanAgainstModelOnExt4(t *testing.T) {
	seed := uint64(rand.Int64())
	t.Logf("seed %d (replay: set it in this test)", seed)
	rng := rand.New(rand.NewPCG(seed, 9))
	f, err := os.OpenFile(filepath.Join(t.TempDir(), "f"), os.O_RDWR|os.O_CREATE|unix.O_DIRECT, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	const size = 256 << 10
	model := make([]byte, size)
	// Start: [0, 64K) written with data, [64K, 128K) fallocate'd, the rest
	// a hole up to 192K, then nothing (writes there extend the file).
	init := mem(t, 64<<10)
	for i := range init {
		init[i] = byte(rng.Uint32())
	}
	copy(model, init)
	if _, err := f.WriteAt(init, 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fallocate(fd, 0, 64<<10, 64<<10); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(192 << 10); err != nil {
		t.Fatal(err)
	}
	prov, err := iomap.NewFile(fd)
	if err != nil {
		t.Fatal(err)
	}
	dioAlign, _ := prov.DIOAlign()
	units := func(pos int64) (int64, bool, error) {
		m, _, err := prov.Begin(pos, 1, iomap.Write)
		if err != nil {
			t.Fatalf("Begin at %d: %v", pos, err)
		}
		if m.Type == iomap.TypeMapped {
			return dioAlign, false, nil
		}
		// Unwritten, hole, past the end: zeros if the whole block is.
		bs := prov.BlockSize()
		var it iomap.Iter
		zero, err := iomap.UnitKnownZero(&it, prov, pos/bs*bs, bs)
		return bs, zero, err
	}
	pool, err := NewPool(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	logical := int64(192 << 10)
	for op := 0; op < 300; op++ {
		off := rng.Int64N(size - 20000)
		length := 1 + rng.Int64N(min(20000, size-off))
		if rng.IntN(3) == 0 {
			length = 1 + rng.Int64N(700) // many small sub-block writes
		}
		data := make([]byte, length) // Go heap, unaligned: goes through bounce buffers
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		p, err := PlanWrite(off, length, units)
		if err != nil {
			t.Fatal(err)
		}
		applyPlan(t, fd, pool, prov, p, data)
		copy(model[off:], data)
		logical = max(logical, off+length)
		if op%25 == 24 || op == 299 {
			checkFile(t, f, model[:logical], seed, op)
		}
	}
}

// applyPlan runs a plan the way the runtime's worker will: each edge is
// read into an aligned unit (or zero-filled), the write's bytes merged in,
// the unit written; the middle is copied into aligned memory and written.
func applyPlan(t *testing.T, fd int, pool *Pool, prov *iomap.File, p Plan, data []byte) {
	t.Helper()
	for _, e := range p.EdgeList() {
		buf, ok := pool.Get(int(e.Len))
		if !ok {
			t.Fatalf("pool has no %d-byte buffer", e.Len)
		}
		if e.ZeroFill {
			clear(buf.B)
		} else if n, err := unix.Pread(fd, buf.B, e.Off); err != nil || (n != len(buf.B) && e.Off+int64(n) < e.End()) {
			// A short read at the end of the file leaves the rest as is:
			// zero it, as the kernel would return zeros past the size.
			if err != nil {
				t.Fatalf("read edge %+v: %v", e, err)
			}
			clear(buf.B[n:])
		}
		e.Fill(buf.B, data)
		if n, err := unix.Pwrite(fd, buf.B, e.Off); err != nil || n != len(buf.B) {
			t.Fatalf("write edge %+v: %d, %v", e, n, err)
		}
		prov.NoteWritten(e.Off, e.Len)
		if err := pool.Put(buf); err != nil {
			t.Fatal(err)
		}
	}
	if p.Mid.Len > 0 {
		buf, ok := pool.Get(int(p.Mid.Len))
		if !ok {
			t.Fatalf("pool has no %d-byte buffer", p.Mid.Len)
		}
		copy(buf.B, data[p.Mid.Off-p.Off:])
		if n, err := unix.Pwrite(fd, buf.B, p.Mid.Off); err != nil || n != len(buf.B) {
			t.Fatalf("write middle %+v: %d, %v", p.Mid, n, err)
		}
		prov.NoteWritten(p.Mid.Off, p.Mid.Len)
		pool.Put(buf)
	}
}

func checkFile(t *testing.T, f *os.File, model []byte, seed uint64, op int) {
	t.Helper()
	got := make([]byte, len(model))
	plain, err := os.Open(f.Name()) // buffered read: any alignment
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := plain.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	// Past the logical end, up to the kernel's size (edges round it up to
	// whole units), there must be nothing but zeros.
	st, err := plain.Stat()
	if err != nil || st.Size() < int64(len(model)) {
		t.Fatalf("size %d below the logical size %d (%v)", st.Size(), len(model), err)
	}
	tail := make([]byte, st.Size()-int64(len(model)))
	if _, err := plain.ReadAt(tail, int64(len(model))); err != nil && len(tail) > 0 {
		t.Fatal(err)
	}
	if i := bytes.IndexFunc(tail, func(r rune) bool { return r != 0 }); i >= 0 {
		t.Fatalf("seed %d after op %d: non-zero byte past the logical size at %d", seed, op, len(model)+i)
	}
	if !bytes.Equal(got, model) {
		for i := range got {
			if got[i] != model[i] {
				t.Fatalf("seed %d after op %d: file differs from the model at byte %d (%d, want %d)", seed, op, i, got[i], model[i])
			}
		}
	}
}

// TestPlanReadPiecesCoverTheRequest: for reads of every small offset and
// length, the pieces of PlanRead cover the request exactly, in order, the
// edges are whole aligned units that hold their piece, and CopyOut puts
// each edge's bytes where they belong.
func TestPlanReadPiecesCoverTheRequest(t *testing.T) {
	const unit = 512
	file := make([]byte, 8*unit)
	for i := range file {
		file[i] = byte(i*7 + i>>9)
	}
	for off := int64(0); off < 3*unit; off += 37 {
		for n := int64(1); off+n <= int64(len(file)); n += 53 {
			p, err := PlanRead(off, n, unit)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]byte, n)
			next := int64(0)
			for _, pc := range p.Pieces(nil) {
				if pc.ReqOff != next || pc.Len <= 0 {
					t.Fatalf("read [%d,+%d): piece %+v, want one at %d", off, n, pc, next)
				}
				next += pc.Len
				if pc.Edge < 0 {
					if (off+pc.ReqOff)%unit != 0 || pc.Len%unit != 0 {
						t.Fatalf("read [%d,+%d): middle %+v is not aligned", off, n, pc)
					}
					copy(got[pc.ReqOff:], file[off+pc.ReqOff:off+pc.ReqOff+pc.Len])
					continue
				}
				e := p.EdgeList()[pc.Edge]
				if e.Off%unit != 0 || e.Len%unit != 0 || e.ZeroFill {
					t.Fatalf("read [%d,+%d): edge %+v", off, n, e)
				}
				e.CopyOut(file[e.Off:e.End()], got)
			}
			if next != n || !bytes.Equal(got, file[off:off+n]) {
				t.Fatalf("read [%d,+%d): pieces cover %d bytes, data equal %v", off, n, next, bytes.Equal(got, file[off:off+n]))
			}
		}
	}
}
