// Package inode is the runtime's per-file state, one Inode per file in
// the process: the descriptor, the map (an iomap.Provider), the
// alignment, the range locks, the sizes and append-ahead, the barriers
// and the sticky sync error. What a Submit uses here never waits
// (snapshots, atomics, TryShared, lock-free barriers); what may wait
// (exclusive locks, extension, truncation) is the workers' and the File
// methods', under Mu. Every slow-path system call goes through Sys.
package inode
