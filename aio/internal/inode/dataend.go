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

// TailUnitFunc is UnitAt for the write [off, end) that found dataEnd at
// dataEnd under its lock: an edge unit that starts inside the write and
// has no data past it (its rest lies at or past dataEnd) is zero-filled
// around the write's bytes rather than read.
func (ino *Inode) TailUnitFunc(off, end, dataEnd int64) func(pos int64) (int64, bool, error) {
	return func(pos int64) (int64, bool, error) {
		unit, zero, err := ino.UnitAt(pos)
		if err == nil && !zero && pos/unit*unit >= off && dataEnd <= end {
			zero = true
		}
		return unit, zero, err
	}
}

// UnitAt is the read-modify-write unit at pos and whether all of its
// content is known zeros (bio.UnitFunc): the direct-I/O alignment in
// written storage, the filesystem block elsewhere (unwritten, hole, past
// the end), where the kernel would otherwise zero the rest of the block
// itself. The block is zero-filled only if every byte of it reads as
// zeros (iomap.UnitKnownZero): a block that ends the file's data is read.
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
