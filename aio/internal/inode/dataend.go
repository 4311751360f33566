package inode

import (
	"github.com/nowaitio/nowait/iomap"
)

// RaiseDataEnd raises the Inode's data end to end, if it is below, and
// returns what it was. The caller holds the range lock of the write that
// ends at end, and has not issued it yet.
func (ino *Inode) RaiseDataEnd(end int64) int64 {
	for {
		old := ino.dataEnd.Load()
		if old >= end || ino.dataEnd.CompareAndSwap(old, end) {
			return old
		}
	}
}

// TailUnitFunc is UnitAt for the write [off, end) that found dataEnd
// under its lock: a tail unit with no data past the write is zero-filled
// rather than read.
func (ino *Inode) TailUnitFunc(off, end, dataEnd int64) func(pos int64) (int64, bool, error) {
	return func(pos int64) (int64, bool, error) {
		unit, zero, err := ino.UnitAt(pos)
		if err == nil && !zero && pos/unit*unit >= off && dataEnd <= end {
			zero = true
		}
		return unit, zero, err
	}
}

// UnitAt is the read-modify-write unit at pos and whether all of it is
// known zeros (bio.UnitFunc): the direct-I/O alignment in written
// storage, the filesystem block elsewhere (where the kernel would zero the
// rest of the block itself); zero only if every byte is
// (iomap.UnitKnownZero).
func (ino *Inode) UnitAt(pos int64) (int64, bool, error) {
	var it iomap.Iter
	it.Reset(ino.Prov, pos, 1, iomap.Write)
	if !it.Next() {
		return 0, false, it.Err()
	}
	typ := it.Map.Type
	it.Advance(it.Length())
	it.Next() // ends the mapping: the walk of one byte is over
	switch typ {
	case iomap.TypeMapped, iomap.TypeDelalloc, iomap.TypeInline:
		return ino.Align.Offset, false, nil
	}
	unit := max(ino.Block, ino.Align.Offset)
	zero, err := iomap.UnitKnownZero(&it, ino.Prov, pos/unit*unit, unit)
	return unit, zero, err
}
