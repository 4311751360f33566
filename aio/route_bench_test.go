package aio

import (
	"os"
	"testing"
)

// BenchmarkUnalignedWriteAt: 100-byte writes at odd offsets of a written
// file, one at a time: each is a read-modify-write on a worker, and its
// latency is the hops it takes to get there and back.
//
//	go test -run '^$' -bench UnalignedWriteAt -count 5 ./aio
func BenchmarkUnalignedWriteAt(b *testing.B) {
	rt := newRuntime(b, Config{})
	path := tempPath(b)
	if err := os.WriteFile(path, make([]byte, 1<<20), 0o600); err != nil {
		b.Fatal(err)
	}
	f := openFile(b, rt, path)
	buf := make([]byte, 100)
	b.ResetTimer()
	for i := range b.N {
		off := int64(i*4099) % (1<<20 - 100)
		if _, err := f.WriteAt(buf, off); err != nil {
			b.Fatal(err)
		}
	}
}
