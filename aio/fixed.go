package aio

import "fmt"

// Fixed files. Every shard's ring registers a table of FixedFiles empty
// slots at start. Open puts the file's descriptor in the same slot of every
// ring (each shard updates its own ring: the rings are SINGLE_ISSUER), and
// the fast path then names the file by slot, which spares the kernel a
// file-table lookup and a reference count per I/O. Close empties the slot
// after the file's I/O has drained and before the descriptor is closed.
// A file that finds no free slot, or a ring that refuses the table, uses
// its descriptor: slower, never wrong.

// opFilesUpdate is an internal request a shard runs on its own ring: put
// fd (r.n; -1 empties it) in fixed slot r.off. Never a user's Op.
const opFilesUpdate Op = 255

// fixedSlots hands out slot numbers; guarded by Runtime.mu.
type fixedSlots struct {
	size int     // slots per ring; 0: none
	next int32   // slots below next were handed out at least once
	free []int32 // given back by Close
}

func (fs *fixedSlots) get() int32 {
	if n := len(fs.free); n > 0 {
		i := fs.free[n-1]
		fs.free = fs.free[:n-1]
		return i
	}
	if int(fs.next) < fs.size {
		fs.next++
		return fs.next - 1
	}
	return -1
}

func (fs *fixedSlots) put(i int32) { fs.free = append(fs.free, i) }

// fixedRef is an inode's slot in a runtime's rings and how many of the
// runtime's handles of it are open: handles of one file share one slot.
// Owner: guarded by Runtime.mu.
type fixedRef struct {
	slot int32
	refs int
}

// registerFixed gives f its inode's fixed slot in every ring, registering
// the inode in a free slot if it has none in this runtime yet, or leaves
// f.fixed at -1 when there is no free slot or a ring refuses it. rt.mu is
// held and the runtime is not closed, so the shards are running.
func (rt *Runtime) registerFixed(f *File) {
	if len(rt.shards) == 0 {
		return
	}
	if ref := rt.fixedByInode[f.ino]; ref != nil {
		ref.refs++
		f.fixed = ref.slot
		return
	}
	slot := rt.fixedSlots.get()
	if slot < 0 {
		return
	}
	for i, s := range rt.shards {
		if err := s.updateFile(slot, f.ino.fd); err != nil {
			for _, done := range rt.shards[:i] {
				done.updateFile(slot, -1)
			}
			rt.fixedSlots.put(slot)
			return
		}
	}
	rt.fixedByInode[f.ino] = &fixedRef{slot: slot, refs: 1}
	f.fixed = slot
	rt.stats.fixedFiles.Add(1)
}

// unregisterFixed drops f's use of its inode's slot; the runtime's last
// handle of the inode empties the slot in every ring. f has no I/O in
// flight, and neither have the runtime's other handles of the inode when
// it is the last.
func (rt *Runtime) unregisterFixed(f *File) {
	if f.fixed < 0 {
		return
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	f.fixed = -1
	ref := rt.fixedByInode[f.ino]
	if ref.refs--; ref.refs > 0 {
		return
	}
	delete(rt.fixedByInode, f.ino)
	for _, s := range rt.shards {
		s.updateFile(ref.slot, -1)
	}
	rt.fixedSlots.put(ref.slot)
	rt.stats.fixedFiles.Add(-1)
}

// updateFile asks the shard to put fd in slot of its ring, and waits.
func (s *shard) updateFile(slot int32, fd int) error {
	r := &request{op: opFilesUpdate, off: int64(slot), n: fd, ctl: make(chan error, 1)}
	s.submit(r)
	select {
	case err := <-r.ctl:
		return err
	case <-s.exited: // the runtime closed under a concurrent File.Close
		return ErrClosed
	}
}

// placeFilesUpdate runs on the shard's goroutine, the ring's owner.
func (s *shard) placeFilesUpdate(r *request) {
	var err error
	if !s.fixedOK {
		err = fmt.Errorf("aio: ring of shard %d has no fixed-file table", s.id)
	} else {
		fds := [1]int32{int32(r.n)}
		_, err = s.ring.UpdateFiles(uint32(r.off), fds[:])
	}
	r.ctl <- err
}

// registerFileTable registers the shard's table of empty slots.
func (s *shard) registerFileTable(n int) {
	if n == 0 {
		return
	}
	fds := make([]int32, n)
	for i := range fds {
		fds[i] = -1
	}
	s.fixedOK = s.ring.RegisterFiles(fds) == nil
	s.fixedTable = s.fixedOK
}

// fileOf is how this executor's SQEs name f: its fixed slot where the
// ring has the runtime's file table (the shards' rings), else its
// descriptor.
func (s *ringExec) fileOf(f *File) (int32, bool) {
	if s.fixedTable && f.fixed >= 0 {
		return f.fixed, true
	}
	return int32(f.ino.fd), false
}
