package bench

import (
	"fmt"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/aio"
)

// layoutDone and layoutTotal are the bytes of the file being laid out,
// for the status line.
var layoutDone, layoutTotal atomic.Int64

// LayoutStatus reports how far the layout of a file is; ok is false when
// none is being laid out.
func LayoutStatus() (done float64, ok bool) {
	t := layoutTotal.Load()
	if t == 0 {
		return 0, false
	}
	return float64(layoutDone.Load()) / float64(t), true
}

// layOut writes [0, end) of the file with non-zero data (reads of
// unwritten or sparse space would never reach the device), each block
// stamped as generation 0 when a job verifies it, and syncs it.
func layOut(path string, end int64, u *usage) error {
	flags := os.O_RDWR | os.O_CREATE
	direct := end%512 == 0
	if direct {
		flags |= unix.O_DIRECT
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil && direct && isEINVAL(err) {
		f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644) // no O_DIRECT here (tmpfs before 6.6): lay out through the cache
	}
	if err != nil {
		return fmt.Errorf("cannot create %s: %w", path, err)
	}
	defer f.Close()
	layoutDone.Store(0)
	layoutTotal.Store(end)
	defer layoutTotal.Store(0)
	var stamp *stamper
	if u.verify != nil {
		stamp = newStamper(u.verify)
		stamp.unit = u.unit
	}
	buf := aio.AlignedBuffer(1 << 20)
	for off := int64(0); off < end; off += int64(len(buf)) {
		if interrupted.Load() {
			return fmt.Errorf("interrupted while laying out %s", path)
		}
		fillBlock(buf, uint64(off))
		if stamp != nil {
			for b := int64(0); b+stamp.unit <= int64(len(buf)); b += stamp.unit {
				stamp.stampBlock(buf[b:b+stamp.unit], off+b, 0)
			}
		}
		n := min(int64(len(buf)), end-off)
		if _, err := f.WriteAt(buf[:n], off); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		layoutDone.Store(off + n)
	}
	if err := f.Truncate(end); err != nil {
		return err
	}
	return f.Sync()
}

// allocated reports whether the file's first end bytes are all allocated
// (written once, not sparse).
func allocated(path string, end int64) bool {
	var st unix.Stat_t
	return unix.Stat(path, &st) == nil && st.Blocks*512 >= end
}

// hasHeaders reports whether the file's first block carries the verify
// header the usage's job writes.
func hasHeaders(path string, u *usage) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, u.unit)
	if _, err := f.ReadAt(b, u.spec.Base); err != nil {
		return false
	}
	s := newStamper(u.verify)
	s.unit = u.unit
	return s.check(b, u.spec.Base, nil, false) == nil
}

func isEINVAL(err error) bool {
	pe, ok := err.(*os.PathError)
	return ok && pe.Err == unix.EINVAL
}

// fallocateFile makes path a new file of size bytes, allocated and never
// written (unwritten extents).
func fallocateFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("cannot create %s: %w", path, err)
	}
	defer f.Close()
	if size == 0 {
		return nil
	}
	if err := unix.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
		return fmt.Errorf("fallocate %s: %w", path, err)
	}
	return nil
}

// newWriteFile makes the file of a job that only writes: fallocate'd, or
// with fallocate=none sparse, as fio makes it.
func newWriteFile(path string, size int64, sparse bool) error {
	if !sparse {
		return fallocateFile(path, size)
	}
	if err := fallocateFile(path, 0); err != nil {
		return err
	}
	return os.Truncate(path, size)
}

// prepareJob makes what a job needs at its start: for append and
// prealloc jobs, their files anew (empty, or fallocate'd and never
// written).
func prepareJob(j Job, files map[string]*fileRun) error {
	if j.RW != Append && !j.Prealloc {
		return nil
	}
	for _, spec := range j.allFiles() {
		size := spec.End()
		if !j.Prealloc {
			size = 0
		}
		if err := fallocateFile(spec.Path, size); err != nil {
			return err
		}
		fr := files[spec.Path]
		fr.appendOff.Store(0)
		if fr.verify != nil { // no block of the new file is written yet
			fr.verify = newUnitTable(spec.End(), fr.verify.unit, genUnwritten)
		}
	}
	return nil
}
