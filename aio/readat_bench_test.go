package aio

import (
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
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
	b.Run("aio-after-burst", func(b *testing.B) {
		// The same, in a Runtime where 32 goroutines have just called
		// ReadAt (a database's readers come in bursts): the calls after
		// the burst must not be slower than before it.
		rt := newRuntime(b, Config{})
		f := openFile(b, rt, path)
		burst(b, f, size)
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
// calling pread. The target is 1.5x pread's rate.
func BenchmarkReadAt4KParallel(b *testing.B) {
	const size = 256 << 20
	path := tempPath(b)
	if err := os.WriteFile(path, make([]byte, size), 0o600); err != nil {
		b.Fatal(err)
	}
	b.Run("aio", func(b *testing.B) {
		rt := newRuntime(b, Config{})
		f := openFile(b, rt, path)
		parallelReads(b, size, func(buf []byte, off int64) error { _, err := f.ReadAt(buf, off); return err })
	})
	b.Run("pread", func(b *testing.B) {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer unix.Close(fd)
		parallelReads(b, size, func(buf []byte, off int64) error { _, err := unix.Pread(fd, buf, off); return err })
	})
}

// burst has 32 goroutines call f.ReadAt 100 times each, at once.
func burst(b *testing.B, f *File, size int64) {
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := AlignedBuffer(4096)
			rng := rand.New(rand.NewPCG(uint64(g), 3))
			for range 100 {
				if _, err := f.ReadAt(buf, rng.Int64N(size/4096)*4096); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// parallelReads runs read from 32 goroutines, 4 KiB at random aligned
// offsets below size.
func parallelReads(b *testing.B, size int64, read func(buf []byte, off int64) error) {
	b.SetParallelism(max(32/runtime.GOMAXPROCS(0), 1))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		buf := AlignedBuffer(4096)
		rng := rand.New(rand.NewPCG(rand.Uint64(), 2))
		for pb.Next() {
			if err := read(buf, rng.Int64N(size/4096)*4096); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
