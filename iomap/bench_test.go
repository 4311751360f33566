package iomap

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkNoteWrittenSplits: 512-byte writes at random blocks of a
// fallocate'd 256 MiB file, as the mixed job makes them. Each one turns
// an unwritten block into written storage and splits an extent; the map
// grows to tens of thousands of extents, and every update must stay
// cheap (a sorted slice moved all of them: docs/decisions.md). Reports
// the extents at the end. Run it with a fixed count: past about 100,000
// writes the file is all written and the map merges back to one extent.
//
//	go test -run XXX -bench NoteWrittenSplits -benchtime 30000x ./iomap
func BenchmarkNoteWrittenSplits(b *testing.B) {
	const size = 256 << 20
	p, rng := splitPrealloc(b, size)
	b.ResetTimer()
	for range b.N {
		p.NoteWritten(rng.Int64N(size/512)*512, 512)
	}
	b.StopTimer()
	b.ReportMetric(float64(p.Extents()), "extents")
}

// splitPrealloc maps a new fallocate'd file of size bytes, its map split
// into about 30,000 extents by 512-byte writes noted at random offsets,
// and the random source that drew them.
func splitPrealloc(b *testing.B, size int64) (*File, *rand.Rand) {
	f, err := os.OpenFile(filepath.Join(b.TempDir(), "prealloc"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	if err := unix.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
		b.Skipf("fallocate: %v", err)
	}
	p, err := NewFile(int(f.Fd()))
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for range 30000 {
		p.NoteWritten(rng.Int64N(size/512)*512, 512)
	}
	return p, rng
}

// BenchmarkBeginManyExtents: a NoWait write's mapping in a map of 30,000
// extents, as Submit asks it for every write.
func BenchmarkBeginManyExtents(b *testing.B) {
	const size = 256 << 20
	p, _ := splitPrealloc(b, size)
	b.ResetTimer()
	for i := range b.N {
		p.Begin(int64(i%(size/4096))*4096, 4096, Write|Direct|NoWait)
	}
}
