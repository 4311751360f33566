package aio

import "sync/atomic"

// request is one submitted IOCB inside the runtime. Requests live in their
// Context's slot table, so submitting allocates nothing.
//
// Ownership moves with the request: the submitting goroutine fills it,
// then exactly one of {a shard's submitter, a worker} owns it until it
// calls finish, after which the Context owns it again.
type request struct {
	next atomic.Pointer[request] // mpsc link

	ctx  *Context
	slot int32
	iocb *IOCB
	file *File
	op   Op
	off  int64
	buf  []byte
	flg  Flag
	span int64      // OpAllocate: the bytes to allocate from off
	ctl  chan error // opFilesUpdate only: the shard's answer

	// Fast-path state, owned by the shard while bios are in flight.
	pending int32 // bios in flight
	want    int64 // bytes a read expects (clipped at the logical size)
	eagain  bool  // some bio came back with EAGAIN
	refused bool  // some bio was taken back unsubmitted: the ring cannot be driven
	failed  error // first error a bio reported
	locked  bool  // holds a shared range lock of [off, off+len)

	// Result, set by finish.
	n   int
	err error
}

func (r *request) end() int64 { return r.off + int64(len(r.buf)) }

// reset clears the request for reuse by its Context.
func (r *request) reset() {
	*r = request{ctx: r.ctx, slot: r.slot}
}
