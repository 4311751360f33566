package iomap

import (
	"errors"
	"fmt"
	"syscall"
)

// The reasons Begin refuses a range under NoWait. Each errors.Is
// syscall.EAGAIN (the caller takes the slow path) and names why, so that
// Stats and logs can tell them apart. They are values, allocated once:
// refusing costs nothing on the hot path.
var (
	ErrExtends      = wouldBlock("the write extends the file past the kernel's size")
	ErrAllocates    = wouldBlock("the write needs allocation (a hole)")
	ErrSubBlock     = wouldBlock("the write covers part of a filesystem block of unwritten storage, which the kernel must zero")
	ErrDelalloc     = wouldBlock("the range has delayed-allocation data that must be written back first")
	ErrShared       = wouldBlock("the write needs copy-on-write of shared storage")
	ErrNotOverwrite = wouldBlock("OverwriteOnly: the range is not written storage")
	ErrUnknownMap   = wouldBlock("the provider must read the file's map, which may block")
	// ErrFilesystemRefuses: the filesystem refuses every NOWAIT direct
	// write (btrfs, measured: Policy).
	ErrFilesystemRefuses = wouldBlock("the filesystem refuses every RWF_NOWAIT direct write")
)

// ErrBeyondDevice: a write or read past the end of a fixed-size target.
var ErrBeyondDevice = fmt.Errorf("iomap: range beyond the end of the device: %w", syscall.ENOSPC)

func wouldBlock(why string) error {
	return fmt.Errorf("iomap: would block: %s: %w", why, syscall.EAGAIN)
}

// IsWouldBlock reports whether err means "cannot be done without blocking".
func IsWouldBlock(err error) bool { return errors.Is(err, syscall.EAGAIN) }

// BadMappingError says a provider broke the contract of Begin; it is a bug
// in the provider, reported with the request and the mapping.
type BadMappingError struct {
	Pos, Length int64
	Map         Iomap
	Problem     string
}

func (e *BadMappingError) Error() string {
	return fmt.Sprintf("iomap: bad mapping for [%d, +%d): %s: %v", e.Pos, e.Length, e.Problem, e.Map)
}

// ErrAdvance: the body advanced the iterator past the current mapping, or by
// a negative amount.
var ErrAdvance = errors.New("iomap: advance past the current mapping")

// ErrStaleLoop: the provider kept returning stale mappings without progress.
var ErrStaleLoop = errors.New("iomap: mapping stale again and again without progress")

// ErrRange: the request's range is invalid (negative, or overflowing).
var ErrRange = errors.New("iomap: invalid range")
