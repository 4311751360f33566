package aio

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/nowaitio/nowait/aio/internal/engine"
	"github.com/nowaitio/nowait/aio/internal/inode"
	"github.com/nowaitio/nowait/aio/internal/req"
	"github.com/nowaitio/nowait/aio/internal/slow"
	"github.com/nowaitio/nowait/aio/internal/stats"
	"github.com/nowaitio/nowait/bio"
	"github.com/nowaitio/nowait/ring"
)

// Runtime owns the rings the blocking File methods share, the slow-path
// workers, the bounce-buffer pool and the open files. Owner: shared; its
// fields are immutable after New except where noted.
type Runtime struct {
	cfg           Config
	backend       Backend // the one in use: BackendIOUring or BackendSyscall
	backendReason string
	env           engine.Env
	stats         stats.Counters
	workers       slow.Workers
	pool          *bio.Pool

	// rings: the blocking methods' rings, one per P (one without a ring
	// on the syscall backend). ringHint (sync.Pool's per-P cache) keeps
	// the ring a P used last; nextRing deals them out.
	rings    []*sharedRing
	ringHint sync.Pool
	nextRing atomic.Uint32

	life     req.Lifetime // users: the open files; Close waits for them
	mu       sync.Mutex
	files    map[*File]struct{}    // guarded by mu
	contexts map[*Context]struct{} // contexts with a ring, closed by Close (guarded by mu)
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
	rt := &Runtime{cfg: cfg, pool: pool, files: map[*File]struct{}{}, contexts: map[*Context]struct{}{}}
	rt.env = engine.Env{Stats: &rt.stats, Pool: pool, ToWorker: rt.workers.Queue, FlushWorkers: rt.workers.Flush}
	rt.life.Init()
	rt.backend = BackendSyscall
	if cfg.Backend != BackendSyscall {
		if err := rt.startRings(); err != nil {
			if cfg.Backend == BackendIOUring || !ring.IsUnavailable(err) {
				pool.Close()
				return nil, err
			}
			rt.backendReason = err.Error()
		} else {
			rt.backend = BackendIOUring
		}
	}
	if len(rt.rings) == 0 {
		rt.rings = []*sharedRing{{}} // the syscall backend's calls share no ring
	}
	workers := cfg.Workers
	if workers == 0 {
		workers = 4
		if rt.backend == BackendSyscall {
			workers = 32
		}
	}
	rt.workers.Start(workers, inode.Steps{Min: cfg.AppendStepMin, Max: cfg.AppendStepMax}, &rt.stats)
	rt.ringHint.New = func() any {
		return rt.rings[int(rt.nextRing.Add(1)-1)%len(rt.rings)]
	}
	return rt, nil
}

func (rt *Runtime) startRings() error {
	for range rt.cfg.Shards {
		x, err := engine.NewRing(&rt.env, rt.cfg.QueueDepth)
		if err != nil {
			rt.closeRings()
			rt.rings = nil // the syscall backend, if the caller falls back
			return err
		}
		rt.rings = append(rt.rings, &sharedRing{x: x})
	}
	return nil
}

func (rt *Runtime) closeRings() {
	for _, s := range rt.rings {
		if s.x != nil {
			s.x.Close()
		}
	}
}

// Stats returns the runtime's counters.
func (rt *Runtime) Stats() Stats {
	s := snapshot(&rt.stats)
	s.Backend = rt.backend.String()
	s.BackendReason = rt.backendReason
	if rt.backend == BackendIOUring {
		s.Shards = len(rt.rings)
	}
	return s
}

// Close closes every open file (waiting for its I/O), every Context,
// stops the workers, and closes the rings last. Calls after Close fail
// with ErrRuntimeClosed.
func (rt *Runtime) Close() error {
	if !rt.life.Close() {
		return ErrRuntimeClosed
	}
	var errs []error
	for _, f := range keysLocked(&rt.mu, rt.files) {
		if err := f.Close(); err != nil && !errors.Is(err, ErrClosed) {
			errs = append(errs, err)
		}
	}
	// A File.Close the user started may still wait for I/O that needs
	// the workers and the rings: they stop once every file has closed.
	rt.life.Wait()
	// Contexts close too (a GetEvents waiting returns ErrContextClosed).
	for _, c := range keysLocked(&rt.mu, rt.contexts) {
		c.Close()
	}
	rt.workers.Stop()
	rt.closeRings()
	if err := rt.pool.Close(); err != nil {
		errs = append(errs, fmt.Errorf("aio: buffer pool: %w", err))
	}
	return errors.Join(errs...)
}

// track records a context with a ring, unless the runtime is closing.
func (rt *Runtime) track(c *Context) bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.life.IsClosed() {
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
