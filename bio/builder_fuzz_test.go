package bio

import (
	"math/rand/v2"
	"testing"
)

// FuzzBuilder adds random aligned I/Os and checks Bios: every byte added is
// in exactly one bio, in the order added, at the right file offset,
// request offset and memory; no bio exceeds MaxBytes or breaks the
// alignment.
func FuzzBuilder(f *testing.F) {
	f.Add(uint64(1), uint8(10), uint16(8))
	f.Add(uint64(2), uint8(40), uint16(2))
	f.Fuzz(func(t *testing.T, seed uint64, n uint8, maxUnits uint16) {
		const unit = 512
		rng := rand.New(rand.NewPCG(seed, 3))
		arena := make([]byte, 1<<20)
		b := Builder{MaxBytes: int64(max(maxUnits%64, 1)) * unit, Align: Alignment{Offset: unit}}
		type added struct {
			off, len, reqOff int64
			mem              int
		}
		var adds []added
		memPos := 0
		for i := 0; i < int(n%64)+1; i++ {
			a := added{off: int64(rng.IntN(256)) * unit, len: int64(1+rng.IntN(16)) * unit,
				reqOff: int64(rng.IntN(8)) * unit, mem: memPos}
			if memPos+int(a.len) > len(arena) {
				break
			}
			if err := b.Add(OpWrite, 3, false, 0, a.off, arena[a.mem:a.mem+int(a.len)], NoFixedBuffer, a.reqOff); err != nil {
				t.Fatal(err)
			}
			adds = append(adds, a)
			memPos += int(a.len)
		}
		bios := b.Bios()
		k := 0 // the next bio
		for _, a := range adds {
			for done := int64(0); done < a.len; k++ {
				if k >= len(bios) {
					t.Fatalf("the bios end before add %+v is covered", a)
				}
				bi := bios[k]
				if bi.Len > b.MaxBytes || bi.Offset%unit != 0 || bi.Len%unit != 0 || bi.Len != int64(len(bi.Seg.Buf)) {
					t.Fatalf("bio %s breaks a limit (max %d bytes)", describe([]Bio{bi}), b.MaxBytes)
				}
				mem := int(addr(bi.Seg.Buf)) - int(addr(arena))
				if bi.Offset != a.off+done || bi.Seg.ReqOff != a.reqOff+done || mem != a.mem+int(done) {
					t.Fatalf("bio %d %s at memory %d, want file %d, request %d, memory %d", k, describe([]Bio{bi}), mem,
						a.off+done, a.reqOff+done, a.mem+int(done))
				}
				done += bi.Len
			}
		}
		if k != len(bios) {
			t.Fatalf("%d bios for %d bytes' worth of adds: %d left over", len(bios), memPos, len(bios)-k)
		}
	})
}
