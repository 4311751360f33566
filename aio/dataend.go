package aio

// raiseDataEnd raises the inode's dataEnd to end, if it is below, and
// returns what it was. The caller holds the range lock of the write that
// ends at end, and has not issued it yet.
func (ino *inode) raiseDataEnd(end int64) int64 {
	for {
		old := ino.dataEnd.Load()
		if old >= end || ino.dataEnd.CompareAndSwap(old, end) {
			return old
		}
	}
}

// tailUnitFunc is unitAt for the write [off, end) that found dataEnd at
// dataEnd under its lock: an edge unit that starts inside the write and
// has no data past it (its rest lies at or past dataEnd) is zero-filled
// around the write's bytes rather than read.
func (ino *inode) tailUnitFunc(off, end, dataEnd int64) func(pos int64) (int64, bool, error) {
	return func(pos int64) (int64, bool, error) {
		unit, zero, err := ino.unitAt(pos)
		if err == nil && !zero && pos/unit*unit >= off && dataEnd <= end {
			zero = true
		}
		return unit, zero, err
	}
}
