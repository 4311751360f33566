package slow

import (
	"github.com/nowaitio/nowait/aio/internal/inode"
	"github.com/nowaitio/nowait/aio/internal/req"
	"github.com/nowaitio/nowait/bio"
)

var alignedBuffer = bio.AlignedBuffer

// do runs r with blocking system calls and finishes it.
func (w *Workers) do(r *req.Request, scratch []byte) {
	switch r.Op {
	case req.OpRead:
		w.stats.SlowReads.Add(1)
		n, err := w.read(r, scratch)
		req.Finish(r, n, err)
	case req.OpWrite:
		w.stats.SlowWrites.Add(1)
		n, err := w.write(r, scratch)
		req.Finish(r, n, err)
	case req.OpAllocate:
		req.Finish(r, 0, r.Ino.Allocate(r.Name, r.Off, r.Span))
	default:
		req.Finish(r, 0, w.sync(r))
	}
}

// read reads r with pread by the ring path's plan (bio.PlanRead):
// unaligned ends as whole units through scratch, the middle in place (or
// through scratch for unaligned memory). A short read is the end of file.
func (w *Workers) read(r *req.Request, scratch []byte) (int, error) {
	ino := r.Ino
	logical, _ := ino.Sizes()
	if r.Off >= logical {
		return 0, nil
	}
	n := min(int64(len(r.Buf)), logical-r.Off)
	buf := r.Buf[:n]
	if ino.PastLastUnit(r.Off + n) {
		fd, err := ino.BufferedFd()
		got := 0
		if err == nil {
			got, err = inode.PreadFull(fd, buf, r.Off)
		}
		return got, wrapRead(r, err)
	}
	plan, err := bio.PlanRead(r.Off, n, max(ino.Align.Offset, 1))
	if err != nil {
		return 0, err
	}
	var pieces [3]bio.Piece
	done := int64(0)
	for _, pc := range plan.Pieces(pieces[:0]) {
		var got int64
		var err error
		if pc.Edge >= 0 {
			got, err = w.readEdge(ino, plan.EdgeList()[pc.Edge], buf, scratch)
		} else {
			got, err = w.readMiddle(ino, buf[pc.ReqOff:pc.ReqOff+pc.Len], r.Off+pc.ReqOff, scratch)
		}
		done += got
		if err != nil {
			return int(done), &inode.Error{Op: "read", Path: r.Name, Offset: r.Off + pc.ReqOff, Err: err}
		}
		if got < pc.Len {
			break // end of file
		}
	}
	return int(done), nil
}

// readEdge reads edge e's unit into scratch and copies the request's
// bytes out into buf; it returns how many of them there were.
func (w *Workers) readEdge(ino *inode.Inode, e bio.Edge, buf, scratch []byte) (int64, error) {
	got, err := inode.PreadFull(ino.Fd, scratch[:e.Len], e.Off)
	if err != nil {
		return 0, err
	}
	w.stats.Bounces.Add(1)
	have := min(max(int64(got)-e.DataOff, 0), e.DataLen)
	e.DataLen = have // a unit cut short by the end of the file
	e.CopyOut(scratch[:e.Len], buf)
	return have, nil
}

// readMiddle reads the aligned range dst at off: in place where dst's
// memory is aligned, else through scratch.
func (w *Workers) readMiddle(ino *inode.Inode, dst []byte, off int64, scratch []byte) (int64, error) {
	if ino.Align.MemoryAligned(dst) {
		got, err := inode.PreadFull(ino.Fd, dst, off)
		return int64(got), err
	}
	w.stats.Bounces.Add(1)
	done := int64(0)
	for done < int64(len(dst)) {
		k := min(int64(len(scratch)), int64(len(dst))-done)
		got, err := inode.PreadFull(ino.Fd, scratch[:k], off+done)
		copy(dst[done:done+int64(got)], scratch[:got])
		done += int64(got)
		if err != nil || int64(got) < k {
			return done, err
		}
	}
	return done, nil
}

// sync runs an fsync or fdatasync with blocking calls, with the
// append-ahead tail cut back first (fsync). Barriers waited at Submit.
func (w *Workers) sync(r *req.Request) error {
	ino := r.Ino
	if err := ino.StickySyncErr(); err != nil {
		return err
	}
	call := inode.Sys.Fdatasync
	if r.Op == req.OpFsync {
		if err := ino.CutBack(r.Name, &w.stats.CutBacks); err != nil {
			return err
		}
		call = inode.Sys.Fsync
	}
	if err := inode.RetryEINTR(func() error { return call(ino.Fd) }); err != nil {
		err = &inode.Error{Op: r.Op.String(), Path: r.Name, Err: err}
		ino.SetSyncErr(err)
		return err
	}
	return nil
}

func wrapRead(r *req.Request, err error) error {
	if err == nil {
		return nil
	}
	return &inode.Error{Op: "read", Path: r.Name, Offset: r.Off, Err: err}
}
