package inode

import "fmt"

// Error is an I/O error with its context: the operation, the file and the
// offset. It unwraps to the errno, so errors.Is(err, syscall.EIO) works.
// Immutable once returned. (aio.Error is this type.)
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
