// Package pebblevfs runs pebble (github.com/cockroachdb/pebble/v2) on
// nowait: New returns a vfs.FS whose files are opened through an
// aio.Runtime, so that every WAL record, sstable block and MANIFEST entry
// pebble writes, and every block it reads, is direct I/O at any offset
// and length, without the page cache.
//
// Directory operations (MkdirAll, Remove, RemoveAll, Rename, Link, List,
// Lock, GetDiskUsage, OpenDir and its Sync) go to the operating system
// through vfs.Default: they are metadata, which direct I/O does not
// change.
//
// What each vfs.File method does here:
//   - Write appends at the file's position, Read reads from it (one
//     position, as os.File has); ReadAt and WriteAt go to aio.File.
//   - Files other than the write-ahead log gather their writes into
//     aligned 256 KiB writes, up to 4 of them in flight behind the writer
//     (gather.go, writebehind.go); the WAL is written through, from the
//     start of its partial last block, kept in memory, so that a record
//     reads nothing back, and the runtime sends it to the ring as one
//     write padded with zeros (a reused WAL: padded here, gather.go);
//     while each WAL write is followed by a Sync, the writes go with
//     RWF_DSYNC and the Syncs have nothing left to do (walsync.go).
//   - A handle opened with vfs.SequentialReadsOption (a compaction's
//     input) reads ahead in windows of 64 KiB to 1 MiB, the next in
//     flight while the caller reads one (readahead.go).
//   - With Options.WrittenCache, the sstable and blob data written last
//     is kept and read from memory (written.go).
//   - Sync and SyncData are aio's (data and the exact size durable),
//     after the writes in flight; SyncTo promises nothing durable, as
//     sync_file_range does (its write-back is write-behind's).
//   - Preallocate does nothing: aio already preallocates ahead of
//     appends where that pays (ext4, XFS) and not where it costs space
//     (btrfs), and aio.File.Allocate would change the file's size, which
//     pebble's Preallocate (FALLOC_FL_KEEP_SIZE) does not.
//   - Prefetch does nothing: it asks the kernel to read ahead into the
//     page cache, which direct I/O never reads from; sequential readers
//     get read-ahead from their own handle (above).
//   - Fd returns the runtime's descriptor, which pebble only advises
//     (fadvise) and checks; given vfs.InvalidFd its syncing file turns
//     every 512 KiB of an sstable (BytesPerSync) into a full Sync.
//
// FS.Stat of a file open for writing through this FS reports the size
// pebble wrote (aio's), not the kernel's, which may run ahead by the
// append-ahead step until the file is synced or closed.
//
// Owner: the FS is shared and safe for concurrent use; each file follows
// vfs.File's rules (one writer at a time, ReadAt from anyone).
package pebblevfs
