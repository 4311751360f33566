package aio

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nowaitio/nowait/bio"
	"github.com/nowaitio/nowait/ring"
)

// Runtime owns the shards (one ring and one submitter goroutine each), the
// slow-path workers, the bounce-buffer pool and the open files.
//
// Owner: shared; its fields are immutable after New except where noted.
type Runtime struct {
	cfg            Config
	backend        Backend // the one in use: BackendIOUring or BackendSyscall
	backendReason  string
	shards         []*shard
	nextShard      atomic.Uint32
	workers        workers
	pool           *bio.Pool
	stats          counters
	syncMu         sync.Mutex
	syncFree       []*syncCtx    // for File's blocking methods (guarded by syncMu)
	syncAll        []*callerExec // every caller ring made, closed by Close (guarded by syncMu)
	callerRings    int           // caller rings made or being made (guarded by syncMu)
	callerRingsMax int
	// blocking counts the File calls in progress; past callerDriveMax
	// they use the overflow ring (or the shards) instead of their caller
	// rings (callerexec.go).
	blocking       atomic.Int32
	callerDriveMax int32
	// overflow takes the fast requests of blocking calls past
	// callerDriveMax: each caller submits its own and parks, and the
	// reaper reaps the ring (callerexec.go). nil where a context ring
	// cannot be made (before Linux 6.13, or the syscall backend): they go
	// to the shards.
	overflow     *ctxRing
	fixedSlots   fixedSlots           // guarded by mu
	fixedByInode map[*inode]*fixedRef // guarded by mu

	life     lifetime // users: the open files; Close waits for them
	mu       sync.Mutex
	files    map[*File]struct{}    // guarded by mu
	contexts map[*Context]struct{} // contexts with a ring of their own, closed by Close (guarded by mu)
}

// New starts a runtime. With BackendAuto it uses io_uring when the kernel
// allows it and otherwise falls back to blocking system calls, saying why
// in Stats().BackendReason; with BackendIOUring it fails instead, with an
// error that names the cause.
func New(cfg Config) (*Runtime, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	pool, err := bio.NewPool(nil)
	if err != nil {
		return nil, err
	}
	rt := &Runtime{cfg: cfg, pool: pool, files: map[*File]struct{}{}, contexts: map[*Context]struct{}{}, fixedByInode: map[*inode]*fixedRef{}, fixedSlots: fixedSlots{size: cfg.FixedFiles}}
	rt.life.init()
	rt.callerRingsMax = callerRingsPerP * runtime.GOMAXPROCS(0)
	rt.callerDriveMax = int32(runtime.GOMAXPROCS(0))
	rt.backend = BackendSyscall
	if cfg.Backend != BackendSyscall {
		if err := rt.startShards(); err != nil {
			if cfg.Backend == BackendIOUring || !ring.IsUnavailable(err) {
				pool.Close()
				return nil, err
			}
			rt.backendReason = err.Error()
		} else {
			rt.backend = BackendIOUring
			rt.overflow = newOverflowRing(rt)
		}
	}
	workers := cfg.Workers
	if workers == 0 {
		workers = 4
		if rt.backend == BackendSyscall {
			workers = 32
		}
	}
	rt.workers.start(rt, workers)
	return rt, nil
}

func (rt *Runtime) startShards() error {
	for i := 0; i < rt.cfg.Shards; i++ {
		s, err := startShard(rt, i)
		if err != nil {
			rt.stopShards()
			rt.shards = nil // the syscall backend, if the caller falls back
			return err
		}
		rt.shards = append(rt.shards, s)
	}
	return nil
}

func (rt *Runtime) stopShards() {
	for _, s := range rt.shards {
		s.stop()
	}
}

// pickShard spreads contexts over the shards, round robin.
func (rt *Runtime) pickShard() *shard {
	if len(rt.shards) == 0 {
		return nil
	}
	return rt.shards[int(rt.nextShard.Add(1)-1)%len(rt.shards)]
}

// Stats returns the runtime's counters.
func (rt *Runtime) Stats() Stats {
	s := rt.stats.snapshot()
	s.Backend = rt.backend.String()
	s.BackendReason = rt.backendReason
	s.Shards = len(rt.shards)
	return s
}

// start takes a validated IOCB into slot r and sends it on its way.
func (rt *Runtime) start(r *request, cb *IOCB, onRing bool) {
	f := cb.File
	*r = request{ctx: r.ctx, slot: r.slot, iocb: cb, file: f, op: cb.Op, off: cb.Offset, buf: cb.Buf, flg: cb.Flags}
	if r.op == OpAllocate {
		r.span, r.buf = allocLength(cb), nil // the buffer is not the runtime's
	}
	if f.dsync && r.op == OpWrite {
		r.flg |= FlagDSync
	}
	rt.stats.inFlight.Add(1) // the file's lifetime counted it in validate
	spec := r.op.spec()
	if spec.modifies && !f.ino.admitWrite(r) {
		return // held behind a barrier; writeDone sends it on
	}
	if r.flg&FlagBarrier != 0 && spec.sync && f.ino.parkBehindWrites(r) {
		return // after the writes submitted before it; writeDone sends it on
	}
	// The kernel uses r.buf after Submit returns. The request holds the
	// slice until finish, so the buffer stays reachable, and Go's heap
	// collector does not move objects; runtime.Pinner would add an
	// allocation per I/O for no safety (docs/decisions.md).
	rt.dispatch(r, true, onRing)
}

// finish completes r with its result. It is the last thing done with a
// request before it goes back to its Context.
func (rt *Runtime) finish(r *request, n int, err error) {
	rt.settle(r, n, err)
	r.ctx.complete(r)
}

// settle records a finished request's result and counts it, without
// delivering it.
func (rt *Runtime) settle(r *request, n int, err error) {
	f := r.file
	r.n, r.err = n, err
	switch r.op {
	case OpRead:
		rt.stats.bytesRead.Add(uint64(max(n, 0)))
	case OpWrite:
		rt.stats.bytesWritten.Add(uint64(max(n, 0)))
		f.ino.writeDone()
	case OpFsync, OpFdatasync:
		rt.stats.syncs.Add(1)
		if r.op == OpFdatasync && err == nil {
			f.ino.lastSyncData.Store(time.Now().UnixNano())
		}
	case OpAllocate:
		rt.stats.allocations.Add(1)
		f.ino.writeDone()
	}
	rt.stats.inFlight.Add(-1)
	f.opDone()
}

// Close closes every open file (waiting for its I/O), stops the workers
// and the shards, and closes the rings last. Calls after Close fail with
// ErrRuntimeClosed.
func (rt *Runtime) Close() error {
	if !rt.life.close() {
		return ErrRuntimeClosed
	}
	var errs []error
	for _, f := range rt.openFiles() {
		if err := f.Close(); err != nil && !errors.Is(err, ErrClosed) {
			errs = append(errs, err)
		}
	}
	// A File.Close the user started before this one skipped above is
	// still waiting for I/O that needs the workers and the shards: they
	// stop only once every file has closed. No file opens any more (Open
	// acquires the lifetime under rt.mu).
	rt.life.wait()
	// Contexts with a ring of their own close too: their rings must not
	// outlive the runtime. A GetEvents waiting returns ErrContextClosed.
	for _, c := range rt.openContexts() {
		c.Close()
	}
	if rt.overflow != nil {
		rt.overflow.close() // every file closed: nothing of theirs is in it
	}
	rt.workers.stop()
	rt.stopShards()
	rt.syncMu.Lock()
	for _, c := range rt.syncAll {
		c.close()
	}
	rt.syncMu.Unlock()
	if err := rt.pool.Close(); err != nil {
		errs = append(errs, fmt.Errorf("aio: buffer pool: %w", err))
	}
	return errors.Join(errs...)
}

// track records a context with a ring of its own, unless the runtime is
// closing.
func (rt *Runtime) track(c *Context) bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.life.isClosed() {
		return false
	}
	rt.contexts[c] = struct{}{}
	return true
}

func (rt *Runtime) untrack(c *Context) {
	rt.mu.Lock()
	delete(rt.contexts, c)
	rt.mu.Unlock()
}

func (rt *Runtime) openContexts() []*Context { return keysLocked(&rt.mu, rt.contexts) }

func (rt *Runtime) openFiles() []*File { return keysLocked(&rt.mu, rt.files) }

// keysLocked copies the keys of a set that mu guards.
func keysLocked[K comparable](mu *sync.Mutex, set map[K]struct{}) []K {
	mu.Lock()
	defer mu.Unlock()
	keys := make([]K, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	return keys
}
