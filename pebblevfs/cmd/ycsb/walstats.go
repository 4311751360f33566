package main

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// walFS wraps an FS to time what pebble's commit pipeline does to its
// write-ahead logs (--wal-stats): each Write (a group of records) and
// each Sync, with the bytes a write carries, and each Close (pebble
// closes a log when it rotates to the next, holding commits back). It shows where a synced
// commit waits: in the write, in the sync, or between them. Owner:
// shared, as the FS it wraps.
type walFS struct {
	vfs.FS
	st *walStats
}

// walStats is what the logs' writers did. Owner: shared; mu guards all.
type walStats struct {
	mu                    sync.Mutex
	write, sync, close    *hdrhistogram.Histogram // nanoseconds
	bytes                 *hdrhistogram.Histogram // per write
	writes, syncs, closes int64
}

func newWALStats() *walStats {
	return &walStats{write: hdrhistogram.New(1, int64(10*time.Second), 3),
		sync:  hdrhistogram.New(1, int64(10*time.Second), 3),
		close: hdrhistogram.New(1, int64(10*time.Second), 3),
		bytes: hdrhistogram.New(1, 1<<30, 3)}
}

func (s *walStats) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.write.Reset()
	s.sync.Reset()
	s.close.Reset()
	s.bytes.Reset()
	s.writes, s.syncs, s.closes = 0, 0, 0
}

func (s *walStats) print(ops int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	us := func(h *hdrhistogram.Histogram, q float64) float64 { return float64(h.ValueAtQuantile(q)) / 1e3 }
	fmt.Printf("           WAL: %d writes (%.2f per op; bytes p50 %d, p99 %d), write p50 %.1f us p99 %.1f us; %d syncs (%.2f per op), p50 %.1f us p99 %.1f us; %d closes, p50 %.1f us p99 %.1f us\n",
		s.writes, float64(s.writes)/float64(max(ops, 1)), s.bytes.ValueAtQuantile(50), s.bytes.ValueAtQuantile(99),
		us(s.write, 50), us(s.write, 99), s.syncs, float64(s.syncs)/float64(max(ops, 1)), us(s.sync, 50), us(s.sync, 99),
		s.closes, us(s.close, 50), us(s.close, 99))
}

func (fs walFS) wrap(f vfs.File, name string, err error) (vfs.File, error) {
	if err != nil || !strings.HasSuffix(name, ".log") {
		return f, err
	}
	return walFile{f, fs.st}, nil
}

func (fs walFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, c)
	return fs.wrap(f, name, err)
}

func (fs walFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, c)
	return fs.wrap(f, newname, err)
}

// walFile times a log's Write, Sync and SyncData. Owner: the log's
// writer, as the file it wraps.
type walFile struct {
	vfs.File
	st *walStats
}

func (f walFile) Write(p []byte) (int, error) {
	t := time.Now()
	n, err := f.File.Write(p)
	d := time.Since(t)
	f.st.mu.Lock()
	f.st.write.RecordValue(int64(d))
	f.st.bytes.RecordValue(int64(len(p)))
	f.st.writes++
	f.st.mu.Unlock()
	return n, err
}

// timed runs call and records its time in h, counting it in n.
func (f walFile) timed(call func() error, h *hdrhistogram.Histogram, n *int64) error {
	t := time.Now()
	err := call()
	d := time.Since(t)
	f.st.mu.Lock()
	h.RecordValue(int64(d))
	*n++
	f.st.mu.Unlock()
	return err
}

func (f walFile) Sync() error     { return f.timed(f.File.Sync, f.st.sync, &f.st.syncs) }
func (f walFile) SyncData() error { return f.timed(f.File.SyncData, f.st.sync, &f.st.syncs) }
func (f walFile) Close() error    { return f.timed(f.File.Close, f.st.close, &f.st.closes) }
