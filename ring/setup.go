package ring

import (
	"fmt"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Config chooses the size and the setup flags of a ring. Flags the kernel
// does not know are dropped one by one (see optionalFlags) and the flags
// actually in force are reported by Ring.SetupFlags.
type Config struct {
	// Entries is the number of submission queue entries; the kernel rounds
	// it up to a power of two. 0 means 256.
	Entries uint32
	// CQEntries is the number of completion queue entries; 0 lets the
	// kernel choose (twice Entries). It must not be below Entries.
	CQEntries uint32

	// SingleIssuer promises that one thread submits (IORING_SETUP_SINGLE_ISSUER).
	// The goroutine that owns the ring must then call runtime.LockOSThread
	// before New: the kernel rejects enter from any other thread (EEXIST).
	SingleIssuer bool
	// DeferTaskrun runs completion work only when the owner enters the
	// kernel to wait (IORING_SETUP_DEFER_TASKRUN); it needs SingleIssuer.
	DeferTaskrun bool
	// CoopTaskrun stops the kernel interrupting the owner with an IPI to run
	// completion work (IORING_SETUP_COOP_TASKRUN).
	CoopTaskrun bool
	// Clamp clamps Entries and CQEntries to the kernel's maximum instead of
	// failing (IORING_SETUP_CLAMP).
	Clamp bool
	// SQPoll starts a kernel thread that polls the submission queue
	// (IORING_SETUP_SQPOLL); SQPollIdle is how long it spins before it sleeps.
	SQPoll     bool
	SQPollIdle time.Duration
}

// optionalFlags are dropped, in this order, when io_uring_setup answers
// EINVAL: they are optimisations that older kernels do not know, and the
// ring works without them (fio retries the same way).
var optionalFlags = []uint32{
	SetupDeferTaskrun,
	SetupSingleIssuer,
	SetupTaskrunFlag,
	SetupCoopTaskrun,
}

func (c Config) setupFlags() uint32 {
	var f uint32
	if c.CQEntries != 0 {
		f |= SetupCQSize
	}
	if c.Clamp {
		f |= SetupClamp
	}
	if c.SingleIssuer {
		f |= SetupSingleIssuer
	}
	if c.DeferTaskrun {
		// TASKRUN_FLAG makes the kernel raise IORING_SQ_TASKRUN when
		// completion work waits for us, so Reap knows when to enter.
		f |= SetupDeferTaskrun | SetupSingleIssuer | SetupTaskrunFlag
	}
	if c.CoopTaskrun {
		f |= SetupCoopTaskrun | SetupTaskrunFlag
	}
	if c.SQPoll {
		f |= SetupSQPoll
	}
	return f
}

func (c Config) validate() error {
	if c.CQEntries != 0 && c.CQEntries < c.Entries {
		return fmt.Errorf("ring: CQEntries %d is below Entries %d", c.CQEntries, c.Entries)
	}
	if c.SQPollIdle < 0 {
		return fmt.Errorf("ring: negative SQPollIdle %v", c.SQPollIdle)
	}
	return nil
}

// New sets up a ring. When io_uring cannot be used at all, the error is an
// *UnavailableError naming the likely cause (see IsUnavailable).
func New(cfg Config) (*Ring, error) {
	if cfg.Entries == 0 {
		cfg.Entries = 256
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p, fd, err := setupWithFallback(cfg)
	if err != nil {
		return nil, err
	}
	r := &Ring{fd: fd, setupFlags: p.Flags, features: p.Features}
	if err := r.mapRings(&p); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if err := r.prove(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// proveTimeout bounds the NOP round trip that proves a new ring works.
const proveTimeout = 2 * time.Second

// proveTag is the user_data of the proving NOP.
const proveTag = ^uint64(0) - 1

// prove sends a NOP through io_uring_enter and waits, with a deadline, for
// its completion. A seccomp profile can allow io_uring_setup and refuse
// io_uring_enter: without this round trip such a ring looks fine and never
// completes anything.
func (r *Ring) prove() error {
	sqe := r.NextSQE()
	if sqe == nil {
		return fmt.Errorf("ring: a new ring has no free SQE")
	}
	sqe.PrepNop()
	sqe.UserData = proveTag
	if _, err := r.Submit(); err != nil {
		if errno, ok := err.(unix.Errno); ok {
			if u := enterUnavailable(errno); u != nil {
				return u
			}
		}
		return fmt.Errorf("ring: io_uring_enter of the proving NOP: %w", err)
	}
	var cqe [1]CQE
	n, err := r.Wait(cqe[:], 1, proveTimeout)
	if err != nil {
		if errno, ok := err.(unix.Errno); ok {
			if u := enterUnavailable(errno); u != nil {
				return u
			}
		}
		return fmt.Errorf("ring: waiting for the proving NOP: %w", err)
	}
	if n == 0 {
		return &UnavailableError{Call: "io_uring_enter", Cause: fmt.Sprintf("a NOP submitted to a new ring did not complete within %v", proveTimeout)}
	}
	if cqe[0].UserData != proveTag || cqe[0].Res != 0 {
		return fmt.Errorf("ring: the proving NOP completed with user_data %#x, res %d", cqe[0].UserData, cqe[0].Res)
	}
	return nil
}

func setupWithFallback(cfg Config) (params, int, error) {
	flags := cfg.setupFlags()
	for i := 0; ; {
		p := params{Flags: flags, CqEntries: cfg.CQEntries}
		if cfg.SQPoll {
			p.SqThreadIdle = uint32(cfg.SQPollIdle / time.Millisecond)
		}
		fd, err := sysSetupFn(cfg.Entries, &p)
		if err == nil {
			return p, fd, nil
		}
		errno, _ := err.(unix.Errno)
		if u := unavailable(errno); u != nil {
			return params{}, -1, u
		}
		if errno != unix.EINVAL {
			return params{}, -1, fmt.Errorf("ring: io_uring_setup(entries=%d, flags=%#x): %w", cfg.Entries, flags, err)
		}
		// Drop the next optional flag that is still set; give up when
		// none is left to drop.
		for i < len(optionalFlags) && flags&optionalFlags[i] == 0 {
			i++
		}
		if i == len(optionalFlags) {
			return params{}, -1, fmt.Errorf("ring: io_uring_setup(entries=%d, flags=%#x): %w", cfg.Entries, flags, err)
		}
		flags &^= optionalFlags[i]
		if optionalFlags[i] == SetupSingleIssuer {
			flags &^= SetupDeferTaskrun // DEFER_TASKRUN needs SINGLE_ISSUER
		}
	}
}

func (r *Ring) mapRings(p *params) error {
	sqSize := uintptr(p.SqOff.Array) + uintptr(p.SqEntries)*4
	cqSize := uintptr(p.CqOff.Cqes) + uintptr(p.CqEntries)*unsafe.Sizeof(CQE{})
	single := p.Features&FeatSingleMmap != 0
	if single {
		sqSize = max(sqSize, cqSize)
	}
	var err error
	r.sqRingMem, err = mmapRing(r.fd, offSQRing, sqSize)
	if err != nil {
		return err
	}
	r.cqRingMem = r.sqRingMem
	if !single {
		if r.cqRingMem, err = mmapRing(r.fd, offCQRing, cqSize); err != nil {
			r.unmap()
			return err
		}
	}
	sqeSize := uintptr(p.SqEntries) * unsafe.Sizeof(SQE{})
	if r.sqeMem, err = mmapRing(r.fd, offSQEs, sqeSize); err != nil {
		r.unmap()
		return err
	}
	r.sq.init(r.sqRingMem, r.sqeMem, p)
	r.cq.init(r.cqRingMem, p)
	r.timespecs = make([]Timespec, p.SqEntries)
	return nil
}

func mmapRing(fd int, offset int64, size uintptr) ([]byte, error) {
	b, err := unix.Mmap(fd, offset, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("ring: mmap of ring at %#x (%d bytes): %w", offset, size, err)
	}
	return b, nil
}

func (r *Ring) unmap() {
	if r.sqeMem != nil {
		unix.Munmap(r.sqeMem)
	}
	if r.cqRingMem != nil && &r.cqRingMem[0] != &r.sqRingMem[0] {
		unix.Munmap(r.cqRingMem)
	}
	if r.sqRingMem != nil {
		unix.Munmap(r.sqRingMem)
	}
	r.sqeMem, r.cqRingMem, r.sqRingMem = nil, nil, nil
}

// Close unmaps the rings and closes the ring's descriptor, exactly once; a
// second Close returns ErrClosed. The kernel cancels what is still in
// flight; buffers it was writing to must stay mapped until the process no
// longer needs them (the aio layer reaps everything before it closes).
func (r *Ring) Close() error {
	if r.closed {
		return ErrClosed
	}
	r.closed = true
	r.sq = submissionQueue{}
	r.cq = completionQueue{}
	r.unmap()
	return unix.Close(r.fd)
}

// Available sets up a small ring, proves it (a NOP round trip), and closes
// it: nil when io_uring works here, else the *UnavailableError that says
// why (or the other error New met). It locks the calling goroutine to its
// thread while it runs, as the ring's owner.
func Available() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, err := New(Config{Entries: 8})
	if err != nil {
		return err
	}
	return r.Close()
}
