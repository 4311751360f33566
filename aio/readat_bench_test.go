package aio

import (
	"math/rand/v2"
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkReadAt4K: 4 KiB O_DIRECT reads at random aligned offsets of a
// 64 MiB file, one goroutine, File.ReadAt beside plain pread on an
// O_DIRECT descriptor of the same file: the depth-1 cost of the runtime.
//
//	go test -run '^$' -bench ReadAt4K -count 5 ./aio
func BenchmarkReadAt4K(b *testing.B) {
	const size = 64 << 20
	path := tempPath(b)
	if err := os.WriteFile(path, make([]byte, size), 0o600); err != nil {
		b.Fatal(err)
	}
	buf := AlignedBuffer(4096)
	b.Run("aio", func(b *testing.B) {
		rt := newRuntime(b, Config{})
		f := openFile(b, rt, path)
		rng := rand.New(rand.NewPCG(1, 2))
		b.ResetTimer()
		for range b.N {
			if _, err := f.ReadAt(buf, rng.Int64N(size/4096)*4096); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("pread", func(b *testing.B) {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer unix.Close(fd)
		rng := rand.New(rand.NewPCG(1, 2))
		b.ResetTimer()
		for range b.N {
			if _, err := unix.Pread(fd, buf, rng.Int64N(size/4096)*4096); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReadAt4KParallel: 32 goroutines calling File.ReadAt at once
// (b.RunParallel with parallelism 16 on 2 Ps), against 32 goroutines
// calling pread. Each ReadAt submits and waits on a ring its own
// goroutine drives; the target is 1.5x pread's rate.
func BenchmarkReadAt4KParallel(b *testing.B) {
	const size = 256 << 20
	path := tempPath(b)
	if err := os.WriteFile(path, make([]byte, size), 0o600); err != nil {
		b.Fatal(err)
	}
	par := max(32/runtime.GOMAXPROCS(0), 1)
	b.Run("aio", func(b *testing.B) {
		rt := newRuntime(b, Config{})
		f := openFile(b, rt, path)
		b.SetParallelism(par)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			buf := AlignedBuffer(4096)
			rng := rand.New(rand.NewPCG(rand.Uint64(), 2))
			for pb.Next() {
				if _, err := f.ReadAt(buf, rng.Int64N(size/4096)*4096); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("pread", func(b *testing.B) {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer unix.Close(fd)
		b.SetParallelism(par)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			buf := AlignedBuffer(4096)
			rng := rand.New(rand.NewPCG(rand.Uint64(), 2))
			for pb.Next() {
				if _, err := unix.Pread(fd, buf, rng.Int64N(size/4096)*4096); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
