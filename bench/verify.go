package bench

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"hash/crc64"
	"math/rand/v2"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// Block format with verify: a header, then data derived from it.
//
//	0  magic "NWVB" (xxhash) or "NWVC" (crc32c), 4 reserved
//	8  file offset of the block
//	16 generation: which write to the file wrote it (0: the prepared file)
//	24 the job's seed
//	32 the checksum of the whole block with this field zeroed (xxhash64,
//	   or crc32c in the low 4 bytes)
//
// A read checks all of it: a block at the wrong place (misdirected write),
// from another job, or whose bytes changed (torn, corrupted) fails; and a
// block whose generation is not the one its file's table expects (a write
// lost, or the older of two landing last) fails too. The error names the
// offset.
const verifyHeaderBytes = 40

// verifyHash is one of the checksums verify= names.
type verifyHash struct {
	magic uint32
	sum   func([]byte) uint64
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var crc64Table = crc64.MakeTable(crc64.ECMA)

// verifyHashes are the checksums iobench writes and checks, by fio's
// names. The header has 8 bytes for it: md5's and the SHAs' first 8.
// iobench's header is its own, not fio's: each engine checks what it
// wrote itself.
var verifyHashes = map[string]*verifyHash{
	"xxhash": {0x4256574e, xxhash.Sum64},                                                           // "NWVB" little-endian
	"crc32c": {0x4356574e, func(b []byte) uint64 { return uint64(crc32.Checksum(b, castagnoli)) }}, // "NWVC"
	"crc32":  {0x4456574e, func(b []byte) uint64 { return uint64(crc32.ChecksumIEEE(b)) }},
	"crc64":  {0x4556574e, func(b []byte) uint64 { return crc64.Checksum(b, crc64Table) }},
	"md5":    {0x4656574e, func(b []byte) uint64 { h := md5.Sum(b); return binary.LittleEndian.Uint64(h[:]) }},
	"sha1":   {0x4756574e, func(b []byte) uint64 { h := sha1.Sum(b); return binary.LittleEndian.Uint64(h[:]) }},
	"sha256": {0x4856574e, func(b []byte) uint64 { h := sha256.Sum256(b); return binary.LittleEndian.Uint64(h[:]) }},
}

// VerifyError is a block that failed its check.
type VerifyError struct {
	Offset int64
	Reason string
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("verify failed at offset %d: %s", e.Offset, e.Reason)
}

// stamper writes and checks verified blocks for one job. Safe for
// concurrent use (it holds no state of its own but the job's).
type stamper struct {
	seed uint64
	unit int64 // the verified block: the job's smallest block size
	hash *verifyHash
}

func newStamper(job *Job) *stamper {
	if job.Verify == "" {
		return nil
	}
	return &stamper{seed: job.Seed, unit: job.minBS(), hash: verifyHashes[job.Verify]}
}

// stamp fills buf, to be written at off, as verified blocks, each of a new
// generation of the file's table, which records it as the block's last.
// The caller holds the blocks (unitTable.acquire).
func (s *stamper) stamp(buf []byte, off int64, t *unitTable) {
	for k := int64(0); k+s.unit <= int64(len(buf)); k += s.unit {
		g := t.next.Add(1)
		s.stampBlock(buf[k:k+s.unit], off+k, g)
		t.set(off+k, g)
	}
}

func (s *stamper) stampBlock(buf []byte, off int64, gen uint64) {
	fillBlock(buf[verifyHeaderBytes:], uint64(off)^gen*0x9E3779B97F4A7C15^s.seed)
	binary.LittleEndian.PutUint32(buf[0:], s.hash.magic)
	binary.LittleEndian.PutUint32(buf[4:], 0)
	binary.LittleEndian.PutUint64(buf[8:], uint64(off))
	binary.LittleEndian.PutUint64(buf[16:], gen)
	binary.LittleEndian.PutUint64(buf[24:], s.seed)
	binary.LittleEndian.PutUint64(buf[32:], 0)
	binary.LittleEndian.PutUint64(buf[32:], s.hash.sum(buf))
}

// check verifies every block of buf, read at off, against the file's
// table (nil: the header and checksum only). Blocks never written are
// passed over; so, with knownOnly (the verify phase, which checks what
// the pass wrote), are blocks whose write the table does not know.
func (s *stamper) check(buf []byte, off int64, t *unitTable, knownOnly bool) error {
	for k := int64(0); k+s.unit <= int64(len(buf)); k += s.unit {
		if t != nil {
			if e := t.expect(off + k); e == genUnwritten || knownOnly && e == genUnknown {
				continue
			}
		}
		if err := s.checkBlock(buf[k:k+s.unit], off+k, t); err != nil {
			return err
		}
	}
	return nil
}

func (s *stamper) checkBlock(buf []byte, off int64, t *unitTable) error {
	if got := binary.LittleEndian.Uint32(buf[0:]); got != s.hash.magic {
		if t != nil && t.expect(off) < genUnwritten && t.expect(off) > 0 {
			return &VerifyError{off, fmt.Sprintf("no block header (magic %#x) where write generation %d was issued: a write was lost", got, t.expect(off))}
		}
		return &VerifyError{off, fmt.Sprintf("no block header of this checksum (magic %#x): never written by a job verifying the same way, or overwritten", got)}
	}
	if got := int64(binary.LittleEndian.Uint64(buf[8:])); got != off {
		return &VerifyError{off, fmt.Sprintf("the block was written for offset %d (a misdirected write)", got)}
	}
	if got := binary.LittleEndian.Uint64(buf[24:]); got != s.seed {
		return &VerifyError{off, fmt.Sprintf("the block comes from a job with seed %d, not %d", got, s.seed)}
	}
	want := binary.LittleEndian.Uint64(buf[32:])
	binary.LittleEndian.PutUint64(buf[32:], 0)
	got := s.hash.sum(buf)
	binary.LittleEndian.PutUint64(buf[32:], want)
	if got != want {
		return &VerifyError{off, fmt.Sprintf("checksum %#x, want %#x: the block's bytes changed (torn or corrupted)", got, want)}
	}
	if t == nil {
		return nil
	}
	if exp, gen := t.expect(off), binary.LittleEndian.Uint64(buf[16:]); exp < genUnwritten && gen != exp {
		what := "an older write's data: a write was lost"
		if gen > exp {
			what = "a later write than the last one issued"
		}
		return &VerifyError{off, fmt.Sprintf("generation %d, want %d: %s", gen, exp, what)}
	}
	return nil
}

// genUnknown: the table does not know which write a block holds (the file
// was not laid out for this pass, or a write to it failed); any valid
// block passes.
const genUnknown = ^uint64(0)

// genUnwritten: the block was never written (a fallocate'd or new file);
// the read-back after the writes passes over it.
const genUnwritten = genUnknown - 1

// unitTable is one file's verified blocks: the generation each holds, and
// which an I/O holds now. While verifying, no two I/Os of the same block
// are in flight at once (as fio's serialize_overlap), so that the last
// write issued is the last to land and a read never sees a write half
// done. Owner: shared by every queue using the file; its cells are atomic.
type unitTable struct {
	unit int64
	gen  []atomic.Uint64
	busy []atomic.Uint32
	next atomic.Uint64 // the file's last generation issued
}

// newUnitTable covers size bytes in blocks of unit, each in state: 0 (the
// file was just laid out with generation 0 in every block), genUnknown or
// genUnwritten.
func newUnitTable(size, unit int64, state uint64) *unitTable {
	n := (size + unit - 1) / unit
	t := &unitTable{unit: unit, gen: make([]atomic.Uint64, n), busy: make([]atomic.Uint32, n)}
	// Generations start at a random point, so that a block an earlier run
	// wrote never passes for this run's write.
	t.next.Store(rand.Uint64N(1<<62) + 1)
	if state != 0 {
		for i := range t.gen {
			t.gen[i].Store(state)
		}
	}
	return t
}

func (t *unitTable) expect(off int64) uint64 {
	if i := off / t.unit; i < int64(len(t.gen)) {
		return t.gen[i].Load()
	}
	return genUnknown
}

func (t *unitTable) set(off int64, g uint64) {
	if i := off / t.unit; i < int64(len(t.gen)) {
		t.gen[i].Store(g)
	}
}

// forget marks the blocks of [off, off+size) unknown (a write failed:
// which of its blocks landed is not known).
func (t *unitTable) forget(off, size int64) {
	for o := off; o < off+size; o += t.unit {
		t.set(o, genUnknown)
	}
}

// unitSpan is the blocks an I/O holds.
type unitSpan struct {
	t           *unitTable
	first, last int64
}

// acquire takes the blocks of [off, off+size) for one I/O, or none of
// them if another I/O holds any.
func (t *unitTable) acquire(off, size int64) (unitSpan, bool) {
	first, last := off/t.unit, min((off+size-1)/t.unit, int64(len(t.busy))-1)
	for i := first; i <= last; i++ {
		if !t.busy[i].CompareAndSwap(0, 1) {
			unitSpan{t, first, i - 1}.release()
			return unitSpan{}, false
		}
	}
	return unitSpan{t, first, last}, true
}

func (sp unitSpan) release() {
	for i := sp.first; sp.t != nil && i <= sp.last; i++ {
		sp.t.busy[i].Store(0)
	}
}

// verifyStats counts verified reads and keeps the first failure.
type verifyStats struct {
	checked  int64 // reads checked
	failures int64
	first    *VerifyError
}

func (v *verifyStats) fail(err error) {
	v.failures++
	if ve, ok := err.(*VerifyError); ok && v.first == nil {
		v.first = ve
	}
}
