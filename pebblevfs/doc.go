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
//     aligned 256 KiB writes until a Sync or Close (gather.go); the WAL
//     is written through, from the start of its partial last block, kept
//     in memory, so that a record reads nothing back (gather.go).
//   - Sync and SyncData are aio's (data and the exact size durable);
//     SyncTo syncs the whole file and says so (fullSync true).
//   - Preallocate does nothing: aio already preallocates ahead of
//     appends where that pays (ext4, XFS) and not where it costs space
//     (btrfs), and aio.File.Allocate would change the file's size, which
//     pebble's Preallocate (FALLOC_FL_KEEP_SIZE) does not.
//   - Prefetch does nothing: it asks the kernel to read ahead into the
//     page cache, which direct I/O never reads from; pebble's own block
//     cache is the cache here.
//   - Fd returns vfs.InvalidFd: a descriptor used directly (readahead,
//     fadvise, sync_file_range) would go around the runtime, and pebble
//     falls back where it sees InvalidFd.
//
// FS.Stat of a file open for writing through this FS reports the size
// pebble wrote (aio's), not the kernel's, which may run ahead by the
// append-ahead step until the file is synced or closed.
//
// Owner: the FS is shared and safe for concurrent use; each file follows
// vfs.File's rules (one writer at a time, ReadAt from anyone).
package pebblevfs
