package pebblevfs

// A synced commit on the WAL is a Write of the group's records and a
// Sync: two trips to the device, each waited for. A WAL whose writes are
// each followed by a Sync writes the next with FlagDSync (RWF_DSYNC: the
// write and what reading it back needs are durable when it completes,
// one request), and its Sync, when every write since the last one was
// such, has nothing left to do. A write that is not followed by a Sync
// (NoSync commits, a write-heavy stretch) turns it off until the next
// Sync follows a write again. Only through files (the WAL) do this.

// walSync is a through file's writes since its last sync. Owner: the
// file's mu.
type walSync struct {
	expect bool // the last write was followed by a sync: write the next with FlagDSync
	wrote  bool // a write since the last sync
	plain  bool // a write since the last sync without FlagDSync
}

// write records a write about to be issued and reports whether it goes
// with FlagDSync.
func (w *walSync) write() bool {
	if w.wrote {
		w.expect = false // two writes before a sync: not the pattern
	}
	w.wrote = true
	if !w.expect {
		w.plain = true
	}
	return w.expect
}

// durableNext reports whether the next write goes with FlagDSync (write
// would say so), without recording it.
func (w *walSync) durableNext() bool { return w.expect && !w.wrote }

// plainWrite records a write issued another way (WriteAt, a write that
// starts inside a block it does not hold): not durable until a sync.
func (w *walSync) plainWrite() {
	w.wrote, w.plain, w.expect = true, true, false
}

// synced reports whether the writes since the last sync are durable
// already (every one went with FlagDSync and completed), so that a sync
// now has nothing to do; it counts as one.
func (w *walSync) synced() bool {
	if w.wrote && !w.plain {
		w.sync()
		return true
	}
	return false
}

// sync records a sync done: the next write, if it follows a write,
// expects another.
func (w *walSync) sync() {
	w.expect = w.wrote
	w.wrote, w.plain = false, false
}
