package bio

import (
	"math/rand/v2"
	"testing"
)

// FuzzBuilder adds random aligned I/Os and checks Finish: every byte added
// is in exactly one bio, at the right file offset, owner and request
// offset; bios never overlap one another within a file and op, never exceed
// MaxBytes or MaxSegs, stay aligned, and their segments are contiguous.
func FuzzBuilder(f *testing.F) {
	f.Add(uint64(1), uint8(10), uint16(8), uint8(4))
	f.Add(uint64(2), uint8(40), uint16(2), uint8(1))
	f.Fuzz(func(t *testing.T, seed uint64, n uint8, maxUnits uint16, maxSegs uint8) {
		const unit = 512
		rng := rand.New(rand.NewPCG(seed, 3))
		arena := make([]byte, 1<<20)
		b := Builder{MaxBytes: int64(max(maxUnits%64, 1)) * unit, MaxSegs: int(max(maxSegs%16, 1)),
			Align: Alignment{Offset: unit}}
		type added struct {
			file     int32
			off, len int64
			mem      int
			owner    uint64
		}
		var adds []added
		memPos := 0
		// Distinct requests never overlap (the runtime's range locks see
		// to that), so draw them from disjoint slots of a 256-unit file.
		used := map[[2]int64]bool{}
		for i := 0; i < int(n%64)+1; i++ {
			file := int32(rng.IntN(2))
			off := int64(rng.IntN(256)) * unit
			length := int64(1+rng.IntN(16)) * unit
			clash := false
			for u := off; u < off+length; u += unit {
				if used[[2]int64{int64(file), u}] {
					clash = true
				}
			}
			if clash || memPos+int(length) > len(arena) {
				continue
			}
			for u := off; u < off+length; u += unit {
				used[[2]int64{int64(file), u}] = true
			}
			if err := b.Add(OpWrite, file, false, 0, off, arena[memPos:memPos+int(length)], NoFixedBuffer, uint64(i), 0); err != nil {
				t.Fatal(err)
			}
			adds = append(adds, added{file, off, length, memPos, uint64(i)})
			memPos += int(length)
		}
		// where[file, unit] = (owner, request offset, memory position) from the bios.
		type origin struct {
			owner  uint64
			reqOff int64
			mem    int
		}
		seen := map[[2]int64]origin{}
		for _, bi := range b.Finish() {
			if bi.Len > b.MaxBytes || len(bi.Segs) > b.MaxSegs || bi.Offset%unit != 0 || bi.Len%unit != 0 {
				t.Fatalf("bio %s breaks a limit (max %d bytes, %d segs)", describe([]Bio{bi}), b.MaxBytes, b.MaxSegs)
			}
			pos, total := bi.Offset, int64(0)
			for _, s := range bi.Segs {
				for k := int64(0); k < int64(len(s.Buf)); k += unit {
					key := [2]int64{int64(bi.File), pos + k}
					if _, dup := seen[key]; dup {
						t.Fatalf("file %d offset %d is in two bios", bi.File, pos+k)
					}
					seen[key] = origin{s.Owner, s.ReqOff + k, int(ring64(s.Buf)) - int(ring64(arena)) + int(k)}
				}
				pos += int64(len(s.Buf))
				total += int64(len(s.Buf))
			}
			if total != bi.Len {
				t.Fatalf("bio segments hold %d bytes, Len %d", total, bi.Len)
			}
		}
		count := 0
		for _, a := range adds {
			for k := int64(0); k < a.len; k += unit {
				o, ok := seen[[2]int64{int64(a.file), a.off + k}]
				if !ok || o.owner != a.owner || o.reqOff != k || o.mem != a.mem+int(k) {
					t.Fatalf("unit %d of request %d (file %d off %d): got %+v, present %v", k/unit, a.owner, a.file, a.off, o, ok)
				}
				count++
			}
		}
		if count != len(seen) {
			t.Fatalf("bios cover %d units, requests %d", len(seen), count)
		}
	})
}

func ring64(b []byte) uintptr { return addr(b) }
