package aio

import (
	"fmt"
	"runtime"
)

// Backend selects how I/O reaches the kernel.
type Backend uint8

const (
	// BackendAuto uses io_uring when it can be set up, else BackendSyscall.
	BackendAuto Backend = iota
	// BackendIOUring uses io_uring, and New fails when it is unavailable.
	BackendIOUring
	// BackendSyscall uses blocking pread/pwrite/fsync in worker goroutines:
	// the same API and guarantees, for machines without io_uring.
	BackendSyscall
)

func (b Backend) String() string {
	switch b {
	case BackendAuto:
		return "auto"
	case BackendIOUring:
		return "io_uring"
	case BackendSyscall:
		return "syscall"
	}
	return fmt.Sprintf("Backend(%d)", uint8(b))
}

// Config configures a Runtime. The zero value is a good default. A value:
// New keeps its own copy.
type Config struct {
	// Shards is how many rings the blocking File methods (ReadAt,
	// WriteAt, Sync, ...) share, one per P by default: 0 means
	// runtime.GOMAXPROCS(0). A Context has a ring of its own.
	Shards int
	// QueueDepth is the SQ entries of each of those rings; 0 means 256.
	QueueDepth int
	Workers    int     // slow-path workers; 0 means 4 (io_uring) or 32 (syscall backend)
	Backend    Backend // BackendAuto (default), BackendIOUring, BackendSyscall
	// AppendStepMin and AppendStepMax bound how far ahead of an append the
	// runtime extends and preallocates the file: the step starts at Min and
	// doubles while appends keep coming, up to Max. 0 means 1 MiB and 64 MiB.
	AppendStepMin, AppendStepMax int64
	// Deprecated: ignored. Registered files gained less than the
	// machine's noise (docs/decisions.md).
	FixedFiles int
	// Deprecated: ignored. Every Submit is now as short as the per-core
	// shards made it (docs/decisions.md, "One engine").
	ShardContexts bool
}

func (c Config) withDefaults() (Config, error) {
	if c.Shards < 0 || c.QueueDepth < 0 || c.Workers < 0 || c.AppendStepMin < 0 || c.AppendStepMax < 0 {
		return c, fmt.Errorf("aio: negative value in Config %+v", c)
	}
	if c.Backend > BackendSyscall {
		return c, fmt.Errorf("aio: unknown backend %v", c.Backend)
	}
	if c.Shards == 0 {
		c.Shards = runtime.GOMAXPROCS(0)
	}
	if c.QueueDepth == 0 {
		c.QueueDepth = 256
	}
	if c.QueueDepth > 32768 {
		return c, fmt.Errorf("aio: QueueDepth %d above 32768", c.QueueDepth)
	}
	if c.AppendStepMin == 0 {
		c.AppendStepMin = 1 << 20
	}
	if c.AppendStepMax == 0 {
		c.AppendStepMax = 64 << 20
	}
	if c.AppendStepMax < c.AppendStepMin {
		return c, fmt.Errorf("aio: AppendStepMax %d below AppendStepMin %d", c.AppendStepMax, c.AppendStepMin)
	}
	return c, nil
}
