package bench

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// Block format with --verify=xxhash: a header, then data derived from it.
//
//	0  magic "NWVB" (4 bytes), 4 reserved
//	8  file offset of the block
//	16 generation: which write of the job wrote it (0: the prepared file)
//	24 the job's seed
//	32 xxhash64 of the whole block with this field zeroed
//
// A read checks all of it: a block at the wrong place (misdirected write),
// from another job, or whose bytes changed (torn, corrupted, lost) fails,
// and the error names the offset.
const (
	verifyHeaderBytes = 40
	verifyMagic       = 0x4256574e // "NWVB" little-endian
)

// VerifyError is a block that failed its check.
type VerifyError struct {
	Offset int64
	Reason string
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("verify failed at offset %d: %s", e.Offset, e.Reason)
}

// stamper writes and checks verified blocks for one job. Safe for
// concurrent use (the generation is atomic).
type stamper struct {
	seed uint64
	unit int64 // the verified block: the job's smallest block size
	gen  atomic.Uint64
}

func newStamper(job *Job) *stamper {
	if job.Verify == "" {
		return nil
	}
	return &stamper{seed: job.Seed, unit: job.minBS()}
}

// stamp fills buf, written at off, as verified blocks of the job's unit,
// each from a new generation.
func (s *stamper) stamp(buf []byte, off int64) {
	for k := int64(0); k+s.unit <= int64(len(buf)); k += s.unit {
		stampBlock(buf[k:k+s.unit], off+k, s.gen.Add(1), s.seed)
	}
}

func stampBlock(buf []byte, off int64, gen, seed uint64) {
	fillBlock(buf[verifyHeaderBytes:], uint64(off)^gen*0x9E3779B97F4A7C15^seed)
	binary.LittleEndian.PutUint32(buf[0:], verifyMagic)
	binary.LittleEndian.PutUint32(buf[4:], 0)
	binary.LittleEndian.PutUint64(buf[8:], uint64(off))
	binary.LittleEndian.PutUint64(buf[16:], gen)
	binary.LittleEndian.PutUint64(buf[24:], seed)
	binary.LittleEndian.PutUint64(buf[32:], 0)
	binary.LittleEndian.PutUint64(buf[32:], xxhash.Sum64(buf))
}

// check verifies every block of buf, read at off.
func (s *stamper) check(buf []byte, off int64) error {
	for k := int64(0); k+s.unit <= int64(len(buf)); k += s.unit {
		if err := s.checkBlock(buf[k:k+s.unit], off+k); err != nil {
			return err
		}
	}
	return nil
}

func (s *stamper) checkBlock(buf []byte, off int64) error {
	if got := binary.LittleEndian.Uint32(buf[0:]); got != verifyMagic {
		return &VerifyError{off, fmt.Sprintf("no block header (magic %#x): never written by a verifying job, or overwritten", got)}
	}
	if got := int64(binary.LittleEndian.Uint64(buf[8:])); got != off {
		return &VerifyError{off, fmt.Sprintf("the block was written for offset %d (a misdirected write)", got)}
	}
	if got := binary.LittleEndian.Uint64(buf[24:]); got != s.seed {
		return &VerifyError{off, fmt.Sprintf("the block comes from a job with seed %d, not %d", got, s.seed)}
	}
	want := binary.LittleEndian.Uint64(buf[32:])
	binary.LittleEndian.PutUint64(buf[32:], 0)
	got := xxhash.Sum64(buf)
	binary.LittleEndian.PutUint64(buf[32:], want)
	if got != want {
		return &VerifyError{off, fmt.Sprintf("checksum %#x, want %#x: the block's bytes changed (torn or corrupted)", got, want)}
	}
	return nil
}

// verifyStats counts verified reads and keeps the first failure.
type verifyStats struct {
	failures int64
	first    *VerifyError
}

func (v *verifyStats) fail(err error) {
	v.failures++
	if ve, ok := err.(*VerifyError); ok && v.first == nil {
		v.first = ve
	}
}
