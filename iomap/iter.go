package iomap

import (
	"fmt"
	"math"
)

// Iter walks the range [pos, pos+length) one mapping at a time, in the shape
// of the kernel's iomap_iter:
//
//	var it iomap.Iter
//	it.Reset(ops, pos, length, flags)
//	for it.Next() {                    // End of the last mapping, Begin of the next
//	    seg := it.Length()             // [it.Pos(), it.Pos()+seg) lies in it.Map
//	    ... act on (part of) the segment ...
//	    it.Advance(done)               // never past the mapping
//	}
//	if err := it.Err(); err != nil { ... }
//
// The loop stops when the range is done, when Begin or End fails, when the
// body calls Fail, or when a round made no progress (a short I/O:
// Remaining() > 0 and Err() nil), unless the mapping was stale, in which
// case the same position is mapped again.
//
// Owner: the goroutine running the loop. An Iter is meant to be kept and
// reused (Reset): it allocates nothing.
type Iter struct {
	ops   Ops
	flags ReqFlags
	pos   int64 // next byte to process
	end   int64 // end of the whole request

	// Map and SrcMap are the current mapping and the source to copy from
	// (TypeNone: none). Valid between a true Next and the next call.
	Map, SrcMap Iomap

	active      bool  // Begin succeeded and End is owed
	segPos      int64 // pos at Begin
	processed   int64 // bytes advanced since Begin
	staleRounds int
	err         error
}

// maxStaleRounds bounds re-mapping without progress: a provider whose map
// keeps changing under the iterator is a bug, not a reason to spin.
const maxStaleRounds = 64

// Reset starts a walk of [pos, pos+length) with flags.
func (it *Iter) Reset(ops Ops, pos, length int64, flags ReqFlags) {
	*it = Iter{ops: ops, flags: flags, pos: pos, end: pos + length}
	if pos < 0 || length < 0 || pos > math.MaxInt64-length {
		it.err = ErrRange
		it.end = pos
	}
}

// Next ends the current mapping (if any) and begins the next one. It
// returns false when the walk is over; see Err and Remaining.
func (it *Iter) Next() bool {
	if it.active && !it.endMapping() {
		return false
	}
	if it.err != nil || it.pos >= it.end {
		return false
	}
	m, src, err := it.ops.Begin(it.pos, it.end-it.pos, it.flags)
	if err != nil {
		it.err = err
		return false
	}
	it.Map, it.SrcMap = m, src
	it.active, it.segPos, it.processed = true, it.pos, 0
	if err := it.checkMapping(); err != nil {
		it.err = err
		it.endMapping()
		return false
	}
	return true
}

// endMapping calls End for the current mapping and decides whether the walk
// goes on.
func (it *Iter) endMapping() bool {
	it.active = false
	segLen := min(it.Map.End(), it.end) - it.segPos
	if err := it.ops.End(it.segPos, max(segLen, 0), it.processed, it.flags, it.Map); err != nil && it.err == nil {
		it.err = err
	}
	if it.err != nil {
		return false
	}
	if it.processed > 0 {
		it.staleRounds = 0
		return true
	}
	if !it.stale() {
		return false // no progress: a short I/O, not an error
	}
	it.staleRounds++
	if it.staleRounds > maxStaleRounds {
		it.err = ErrStaleLoop
		return false
	}
	return true
}

func (it *Iter) stale() bool {
	if it.Map.Flags&FlagStale != 0 {
		return true
	}
	v, ok := it.ops.(Validator)
	return ok && !v.Valid(it.Map)
}

func (it *Iter) checkMapping() error {
	m := it.Map
	problem := ""
	switch {
	case m.Type == TypeNone || m.Type > TypeInline:
		problem = "no valid type"
	case m.Length <= 0:
		problem = "zero or negative length"
	case m.Offset > it.pos:
		problem = "starts after the position asked for"
	case m.Offset > math.MaxInt64-m.Length:
		problem = "overflows"
	case m.End() <= it.pos:
		problem = "ends at or before the position asked for"
	case it.SrcMap.Type != TypeNone && (it.SrcMap.Offset > it.pos || it.SrcMap.End() <= it.pos || it.SrcMap.Length <= 0):
		problem = "srcmap does not cover the position asked for"
	}
	if problem == "" {
		return nil
	}
	return &BadMappingError{Pos: it.pos, Length: it.end - it.pos, Map: m, Problem: problem}
}

// Pos is the next byte to process.
func (it *Iter) Pos() int64 { return it.pos }

// Length is what is left of the current segment: from Pos to the end of
// the mapping or of the request, whichever comes first.
func (it *Iter) Length() int64 {
	if !it.active {
		return 0
	}
	return min(it.Map.End(), it.end) - it.pos
}

// Remaining is how much of the request is not yet processed.
func (it *Iter) Remaining() int64 { return it.end - it.pos }

// Flags are the request flags of the walk.
func (it *Iter) Flags() ReqFlags { return it.flags }

// Advance records that the body processed n bytes from Pos. Advancing past
// the current mapping, or by a negative amount, fails the walk with
// ErrAdvance.
func (it *Iter) Advance(n int64) error {
	if !it.active || n < 0 || n > it.Length() {
		err := fmt.Errorf("%w: advance by %d at %d with %d left in %v", ErrAdvance, n, it.pos, it.Length(), it.Map)
		it.Fail(err)
		return err
	}
	it.pos += n
	it.processed += n
	return nil
}

// MarkStale tells the iterator that the body found the mapping out of date:
// if no progress was made, the same position is mapped again.
func (it *Iter) MarkStale() { it.Map.Flags |= FlagStale }

// Fail stops the walk with err after End is called for the current mapping.
func (it *Iter) Fail(err error) {
	if it.err == nil {
		it.err = err
	}
}

// Err is the error that stopped the walk, or nil.
func (it *Iter) Err() error { return it.err }
