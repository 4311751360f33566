package iomap

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Device maps a block device, or a fixed-size file whose every block is
// written (a preallocated, zero-filled data file): the identity mapping,
// always Mapped, with nothing to allocate, extend or zero. Reads past the
// end return end of file; writes past the end are refused.
//
// Owner: immutable after NewDevice; safe for concurrent use.
type Device struct {
	size int64
}

// NewDevice maps the block device or fixed-size file fd; its size is read
// once (SEEK_END works for both).
func NewDevice(fd int) (*Device, error) {
	size, err := unix.Seek(fd, 0, unix.SEEK_END)
	if err != nil {
		return nil, fmt.Errorf("iomap: size of device: %w", err)
	}
	return &Device{size: size}, nil
}

// NewDeviceSize maps a target of the given size.
func NewDeviceSize(size int64) *Device { return &Device{size: size} }

// Size is the size of the device.
func (d *Device) Size() int64 { return d.size }

// Begin maps the range at pos (Ops).
func (d *Device) Begin(pos, length int64, flags ReqFlags) (Iomap, Iomap, error) {
	if pos >= d.size {
		if flags&(Write|Zero) != 0 {
			return Iomap{}, Iomap{}, ErrBeyondDevice
		}
		return Iomap{Offset: pos, Length: length, Addr: pos, Type: TypeHole, Flags: FlagKnownZero | FlagPastSize}, Iomap{}, nil
	}
	return Iomap{Offset: 0, Length: d.size, Addr: 0, Type: TypeMapped}, Iomap{}, nil
}

// End finishes a mapping (Ops); the identity map never changes.
func (d *Device) End(pos, length, written int64, flags ReqFlags, m Iomap) error {
	return nil
}
