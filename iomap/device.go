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
	size   int64
	sector int64 // logical block size: the direct-I/O alignment
}

// NewDevice maps the block device or fixed-size file fd; its size is read
// once (SEEK_END works for both), its logical block size with BLKSSZGET
// (512 where that is refused, as for a file).
func NewDevice(fd int) (*Device, error) {
	size, err := unix.Seek(fd, 0, unix.SEEK_END)
	if err != nil {
		return nil, fmt.Errorf("iomap: size of device: %w", err)
	}
	d := &Device{size: size, sector: 512}
	if sz, err := unix.IoctlGetInt(fd, unix.BLKSSZGET); err == nil && sz > 0 {
		d.sector = int64(sz)
	}
	return d, nil
}

// NewDeviceSize maps a target of the given size, with 512-byte sectors.
func NewDeviceSize(size int64) *Device { return &Device{size: size, sector: 512} }

// Size is the size of the device.
func (d *Device) Size() int64 { return d.size }

// Sizes returns the device's size twice: it is both the logical and the
// kernel's size (Provider).
func (d *Device) Sizes() (logical, kernel int64) { return d.size, d.size }

// FixedSize is true: a device neither grows nor shrinks (Provider).
func (d *Device) FixedSize() bool { return true }

// Policy: every write is an overwrite of written storage, and nothing
// grows (Provider).
func (d *Device) Policy() Policy {
	return Policy{Filesystem: "device", NoWaitWrites: true, Growth: GrowFixed}
}

// BlockSize is the logical block size (Provider).
func (d *Device) BlockSize() int64 { return d.sector }

// DIOAlign is the logical block size, for offsets and memory (Provider).
func (d *Device) DIOAlign() (offset, memory int64) { return d.sector, d.sector }

// The notes change nothing: every block of a device is written storage,
// and its size is fixed (Provider).
func (d *Device) NoteWritten(off, n int64)                  {}
func (d *Device) NoteAllocated(off, n int64, keepSize bool) {}
func (d *Device) NoteLogicalEnd(end int64)                  {}
func (d *Device) NoteKernelSize(size int64)                 {}
func (d *Device) SetLogicalSize(size int64)                 {}

// Refresh has nothing to read again: the map is the identity (Provider).
func (d *Device) Refresh() error { return nil }

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
