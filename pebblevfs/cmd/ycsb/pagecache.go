package main

import (
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// residentBytes counts the bytes of the regular files under dir that are
// in the page cache (mincore over a read-only mapping of each). It counts
// the database's own pages: /proc/meminfo's Cached moves with everything
// else on the machine.
func residentBytes(dir string) int64 {
	page := int64(os.Getpagesize())
	total := int64(0)
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		total += fileResident(path, page)
		return nil
	})
	return total
}

func fileResident(path string, page int64) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0 // removed meanwhile (a compaction's input)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return 0
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return 0
	}
	defer unix.Munmap(mem)
	vec := make([]byte, (st.Size()+page-1)/page)
	if mincore(mem, vec) != nil {
		return 0
	}
	n := int64(0)
	for _, v := range vec {
		n += int64(v & 1)
	}
	return n * page
}

// residentPeak samples residentBytes(dir) every interval until stop, and
// returns the largest sample. Owner: its sampling goroutine writes peak
// (an atomic); done, on the measuring goroutine, stops and reads it.
type residentPeak struct {
	peak atomic.Int64
	stop chan struct{}
	wg   sync.WaitGroup
}

func watchResident(dir string, every time.Duration) *residentPeak {
	p := &residentPeak{stop: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			p.peak.Store(max(p.peak.Load(), residentBytes(dir)))
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

// done stops sampling, takes a last sample and returns the peak.
func (p *residentPeak) done(dir string) int64 {
	close(p.stop)
	p.wg.Wait()
	return max(p.peak.Load(), residentBytes(dir))
}

// mincore is mincore(2), which golang.org/x/sys/unix does not wrap: a
// byte per page of mem, bit 0 set where the page is resident.
func mincore(mem, vec []byte) error {
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&mem[0])), uintptr(len(mem)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		return errno
	}
	return nil
}
