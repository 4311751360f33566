package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// FileSpec is one file of one clone of a job, and the region of it the
// clone does its I/O in: [Base, Base+Size).
type FileSpec struct {
	Path       string
	Base, Size int64
}

// End is the first byte past the region: the size the file needs.
func (f FileSpec) End() int64 { return f.Base + f.Size }

// splitList splits fio's ':' list, where "\:" is a colon inside a name.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == ':':
			cur.WriteByte(':')
			i++
		case s[i] == ':':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(s[i])
		}
	}
	return append(out, cur.String())
}

// Files are the files of clone c of the job, as fio lays them out: the
// filename list shared by every clone (relative names under the first
// directory), or, without one, NrFiles files of the clone's own named
// name.c.f, the clones taking the directories of a ':' list in turn.
// Each file's region starts at Offset plus c × OffsetIncrement and runs
// to the end of a file of FileSize bytes (fio's filesize is the file's
// size), or, without it, for Size divided among the files.
func (j *Job) Files(c int) []FileSpec {
	dirs := splitList(j.Directory)
	var paths []string
	if names := splitList(j.Filename); names != nil {
		for _, n := range names {
			if len(dirs) > 0 && !filepath.IsAbs(n) {
				n = filepath.Join(dirs[0], n)
			}
			paths = append(paths, n)
		}
	} else {
		dir := "."
		if len(dirs) > 0 {
			dir = dirs[c%len(dirs)]
		}
		for f := range max(j.NrFiles, 1) {
			paths = append(paths, filepath.Join(dir, fmt.Sprintf("%s.%d.%d", j.Name, c, f)))
		}
	}
	base := j.Offset + int64(c)*j.OffsetIncrement
	size := j.Size / int64(len(paths))
	if j.FileSize > 0 {
		size = max(j.FileSize-base, 0) // Validate refuses a region of nothing
	}
	out := make([]FileSpec, len(paths))
	for i, p := range paths {
		out[i] = FileSpec{Path: p, Base: base, Size: size}
	}
	return out
}

// SharedFiles reports whether the clones share their files (a filename
// list), rather than having files of their own.
func (j *Job) SharedFiles() bool { return j.Filename != "" }

// allFiles is every file of every clone of the job, each path once, with
// the largest region end any clone needs of it.
func (j *Job) allFiles() []FileSpec {
	var out []FileSpec
	seen := map[string]int{}
	for c := range j.NumJobs {
		for _, f := range j.Files(c) {
			if i, ok := seen[f.Path]; ok {
				if f.End() > out[i].End() {
					out[i] = f
				}
				continue
			}
			seen[f.Path] = len(out)
			out = append(out, f)
		}
		if j.SharedFiles() && j.OffsetIncrement == 0 {
			break // every clone has the same files and regions
		}
	}
	return out
}

// isDevice reports whether path is a block device.
func isDevice(path string) bool {
	var st unix.Stat_t
	return unix.Stat(path, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFBLK
}

// existingSize is the size of the file or block device at path; ok is
// false when there is none.
func existingSize(path string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	n, err := f.Seek(0, 2)
	return n, err == nil
}

// ResolveSize gives a job without a size the size of its existing file,
// less its offset, as fio does; a job without a size whose files do not
// exist is an error, as in fio.
func (j *Job) ResolveSize() error {
	if j.Size > 0 || j.FileSize > 0 {
		return nil
	}
	names := splitList(j.Filename)
	if names == nil {
		return fmt.Errorf("job %s: no size, and its files are generated: set size= (or filesize=)", j.Name)
	}
	var total int64
	for _, f := range j.Files(0) {
		n, ok := existingSize(f.Path)
		if !ok {
			return fmt.Errorf("job %s: no size, and %s does not exist: set size=", j.Name, f.Path)
		}
		if n <= j.Offset {
			return fmt.Errorf("job %s: no size, and %s (%d bytes) ends before the offset %d", j.Name, f.Path, n, j.Offset)
		}
		total += n - j.Offset
	}
	j.Size = total
	return nil
}
