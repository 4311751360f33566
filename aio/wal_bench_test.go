package aio

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkWAL measures the write-ahead-log pattern that decides how Sync
// treats the append-ahead tail (docs/decisions.md): append 4 KiB then make
// it durable, over and over; and group commit, 16 appends then one sync.
// SyncData keeps the tail (the next append is a fast overwrite); Sync cuts
// the size back every time (the next append extends the file again); the
// psync baseline is pwrite + fdatasync on an O_DIRECT file.
//
//	go test -run '^$' -bench WAL -benchtime=3s ./aio
func BenchmarkWAL(b *testing.B) {
	for _, c := range []struct {
		name  string
		group int
		sync  string
	}{
		{"append-syncdata", 1, "syncdata"},
		{"append-sync", 1, "sync"},
		{"group16-syncdata", 16, "syncdata"},
		{"group16-sync", 16, "sync"},
		{"psync-append-fdatasync", 1, "psync"},
		{"psync-group16-fdatasync", 16, "psync"},
	} {
		b.Run(c.name, func(b *testing.B) {
			path := tempPath(b)
			buf := AlignedBuffer(4096)
			if c.sync == "psync" {
				benchWALPsync(b, path, buf, c.group)
				return
			}
			rt := newRuntime(b, Config{})
			f := openFile(b, rt, path)
			ctx, _ := rt.NewContext(c.group + 1)
			cbs := make([]IOCB, c.group)
			ptrs := make([]*IOCB, c.group)
			events := make([]Event, c.group)
			off := int64(0)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for k := range cbs {
					cbs[k] = IOCB{Op: OpWrite, File: f, Buf: buf, Offset: off}
					ptrs[k] = &cbs[k]
					off += 4096
				}
				if _, err := ctx.Submit(ptrs...); err != nil {
					b.Fatal(err)
				}
				for got := 0; got < c.group; {
					n, err := ctx.GetEvents(c.group-got, events, -1)
					if err != nil {
						b.Fatal(err)
					}
					got += n
				}
				var err error
				if c.sync == "sync" {
					err = f.Sync()
				} else {
					err = f.SyncData()
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
			b.ReportMetric(float64(b.N*c.group)/b.Elapsed().Seconds(), "appends/s")
			st := rt.Stats()
			b.ReportMetric(float64(st.SlowWrites)/float64(b.N*c.group), "slow/append")
		})
	}
}

func benchWALPsync(b *testing.B, path string, buf []byte, group int) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_DIRECT, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(fd)
	defer os.Remove(path)
	off := int64(0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for range group {
			if _, err := unix.Pwrite(fd, buf, off); err != nil {
				b.Fatal(err)
			}
			off += 4096
		}
		if err := unix.Fdatasync(fd); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
	b.ReportMetric(float64(b.N*group)/b.Elapsed().Seconds(), "appends/s")
}
