package aio

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/nowaitio/nowait/aio/internal/inode"
)

// ErrWouldBlock is returned by Submit when the context is full: it accepted
// what fit and the rest must wait for GetEvents. errors.Is(err,
// syscall.EAGAIN) holds.
var ErrWouldBlock = fmt.Errorf("aio: context full: %w", syscall.EAGAIN)

// A closed File, Context or Runtime each has its own error, and every one
// of them errors.Is os.ErrClosed.
var (
	// ErrClosed is returned for the use of a closed File, and by a second
	// File.Close.
	ErrClosed error = closedError("file")
	// ErrContextClosed is returned for the use of a closed Context.
	ErrContextClosed error = closedError("context")
	// ErrRuntimeClosed is returned for the use of a closed Runtime, or of
	// a File or Context whose Runtime is closed.
	ErrRuntimeClosed error = closedError("runtime")
)

// closedError names what was closed; it matches os.ErrClosed.
type closedError string

func (e closedError) Error() string        { return "aio: " + string(e) + " already closed" }
func (e closedError) Is(target error) bool { return target == os.ErrClosed }

// Errors for bad input. Each is returned before anything is done.
var (
	ErrNilIOCB        = errors.New("aio: nil IOCB")
	ErrNilFile        = errors.New("aio: IOCB with a nil File")
	ErrUnknownOp      = errors.New("aio: unknown Op")
	ErrNegativeOffset = errors.New("aio: negative offset")
	// ErrOffsetOverflow refuses a request whose end lies past the largest
	// file offset (2^63-1): its offset plus its length overflows.
	ErrOffsetOverflow = errors.New("aio: offset + length past the largest file offset (2^63-1)")
	ErrBufferTooLarge = fmt.Errorf("aio: buffer larger than %d bytes", MaxIOBytes)
	ErrOtherRuntime   = errors.New("aio: File belongs to another Runtime")
	ErrBadDepth       = errors.New("aio: context depth must be between 1 and 65536")
	ErrBadLength      = errors.New("aio: OpAllocate of no bytes (Length below 1 and no Buf)")
)

// Errors for what a handle was not opened for, as os.File refuses them.
var (
	// ErrReadOnly refuses a write (or a size change) through a handle
	// opened O_RDONLY; errors.Is(err, syscall.EBADF) holds.
	ErrReadOnly = fmt.Errorf("aio: file opened O_RDONLY, not for writing: %w", syscall.EBADF)
	// ErrWriteOnly refuses a read through a handle opened O_WRONLY;
	// errors.Is(err, syscall.EBADF) holds.
	ErrWriteOnly = fmt.Errorf("aio: file opened O_WRONLY, not for reading: %w", syscall.EBADF)
	// ErrAppendWriteAt refuses WriteAt (and OpWrite) on a handle opened
	// with O_APPEND: its writes go at the end, with Write.
	ErrAppendWriteAt = errors.New("aio: WriteAt on a file opened with O_APPEND (use Write)")
	// ErrNotAppend refuses Write on a handle opened without O_APPEND: a
	// File has no file offset to write at (use WriteAt).
	ErrNotAppend = errors.New("aio: Write on a file opened without O_APPEND (use WriteAt)")
)

var errTruncReadOnly = fmt.Errorf("aio: O_TRUNC on a handle opened O_RDONLY: %w", syscall.EINVAL)

// MaxIOBytes is the largest buffer one IOCB may carry.
const MaxIOBytes = 1 << 30

// Error is an I/O error with its context: the operation, the file and the
// offset. It unwraps to the errno, so errors.Is(err, syscall.EIO) works.
// Immutable once returned.
type Error = inode.Error
