package ring

import (
	"fmt"
	"unsafe"
)

// Probe says which opcodes the running kernel supports.
type Probe struct {
	LastOp    uint8 // the highest opcode the kernel knows
	supported [256]bool
}

// Supported reports whether the kernel supports opcode op.
func (p *Probe) Supported(op uint8) bool { return p.supported[op] }

// probeBuf is struct io_uring_probe with room for every possible opcode.
type probeBuf struct {
	hdr probeHeader
	ops [256]probeOp
}

// Probe asks the kernel which opcodes it supports (IORING_REGISTER_PROBE,
// kernel 5.6).
func (r *Ring) Probe() (*Probe, error) {
	if r.closed {
		return nil, ErrClosed
	}
	var buf probeBuf
	if _, err := sysRegister(r.fd, registerProbe, unsafe.Pointer(&buf), uint32(len(buf.ops))); err != nil {
		return nil, fmt.Errorf("ring: probe opcodes: %w", err)
	}
	p := &Probe{LastOp: buf.hdr.LastOp}
	for _, op := range buf.ops[:buf.hdr.OpsLen] {
		if op.Flags&probeOpSupported != 0 {
			p.supported[op.Op] = true
		}
	}
	return p, nil
}

// Require returns an error naming every opcode of ops the kernel lacks, so
// that a program can refuse to start with a clear reason.
func (p *Probe) Require(ops ...uint8) error {
	var missing []uint8
	for _, op := range ops {
		if !p.supported[op] {
			missing = append(missing, op)
		}
	}
	if missing != nil {
		return fmt.Errorf("ring: the kernel lacks io_uring opcodes %v (it knows up to %d)", missing, p.LastOp)
	}
	return nil
}
