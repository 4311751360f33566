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
	Shards     int     // per-core submitters; 0 means runtime.GOMAXPROCS(0)
	QueueDepth int     // ring entries per shard; 0 means 256
	Workers    int     // slow-path workers; 0 means 4 (io_uring) or 32 (syscall backend)
	Backend    Backend // BackendAuto (default), BackendIOUring, BackendSyscall
	// AppendStepMin and AppendStepMax bound how far ahead of an append the
	// runtime extends and preallocates the file: the step starts at Min and
	// doubles while appends keep coming, up to Max. 0 means 1 MiB and 64 MiB.
	AppendStepMin, AppendStepMax int64
	// FixedFiles is how many files each ring can name by a registered slot
	// rather than a descriptor (cheaper per I/O); files opened beyond it
	// use their descriptor. 0 means 1024; -1 registers none.
	FixedFiles int
	// ShardContexts hands every Context's requests to the shards, as the
	// runtime did before each Context drove a ring of its own (see
	// docs/decisions.md, "A Context drives a ring of its own"): Submit
	// then issues no I/O itself (it enters the kernel only to wake a
	// sleeping shard), and its tail is shorter (iobench's
	// mixed job, one I/O per Submit: p99.99 0.24-0.27 ms against 0.91 ms,
	// at 0.84x the IOPS), at two thread hand-offs per I/O (queue depth 1:
	// half the IOPS, 4.5x the CPU per I/O). iobench's engine aio-shards
	// runs it.
	ShardContexts bool
}

func (c Config) withDefaults() (Config, error) {
	if c.FixedFiles == 0 {
		c.FixedFiles = 1024
	} else if c.FixedFiles < 0 {
		c.FixedFiles = 0
	}
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
