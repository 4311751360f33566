package aio

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrWouldBlock is returned by Submit when the context is full: it accepted
// what fit and the rest must wait for GetEvents. errors.Is(err,
// syscall.EAGAIN) holds.
var ErrWouldBlock = fmt.Errorf("aio: context full: %w", syscall.EAGAIN)

// ErrClosed is returned for any use of a closed Runtime, File or Context;
// errors.Is(err, os.ErrClosed) holds.
var ErrClosed = fmt.Errorf("aio: %w", os.ErrClosed)

// Errors for bad input. Each is returned before anything is done.
var (
	ErrNilIOCB        = errors.New("aio: nil IOCB")
	ErrNilFile        = errors.New("aio: IOCB with a nil File")
	ErrUnknownOp      = errors.New("aio: unknown Op")
	ErrNegativeOffset = errors.New("aio: negative offset")
	ErrBufferTooLarge = fmt.Errorf("aio: buffer larger than %d bytes", MaxIOBytes)
	ErrNilBuffer      = errors.New("aio: read or write with an empty buffer")
	ErrOtherRuntime   = errors.New("aio: File belongs to another Runtime")
	ErrBadDepth       = errors.New("aio: context depth must be between 1 and 65536")
)

// MaxIOBytes is the largest buffer one IOCB may carry.
const MaxIOBytes = 1 << 30

// Error is an I/O error with its context: the operation, the file and the
// offset. It unwraps to the errno, so errors.Is(err, syscall.EIO) works.
type Error struct {
	Op     string // "read", "write", "fsync", ...
	Path   string
	Offset int64
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("aio: %s %s at %d: %v", e.Op, e.Path, e.Offset, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }
