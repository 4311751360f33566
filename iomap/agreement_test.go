package iomap

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nowaitio/nowait/ring"
)

// TestNoWaitAgreesWithKernel asks the file provider, for each kind of
// target and write, whether the write can go without blocking, and asks
// the kernel the same question with a real RWF_NOWAIT write through
// io_uring on ext4, on fresh files, several times. The table is logged
// (and recorded in docs/architecture.md).
//
// Where the provider says "fast", the kernel must almost never refuse
// (a refusal is harmless, the write goes to the worker, but it costs a
// round trip). Where the provider says "slow", the kernel must refuse
// often; otherwise the provider sends writes to the worker for nothing.
func TestNoWaitAgreesWithKernel(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r, err := ring.New(ring.Config{Entries: 8})
	if ring.IsUnavailable(err) {
		t.Skipf("asks the kernel's NOWAIT answers through a real ring: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := alignedMem(t, 4*kib)

	fsName, bs, files := agreementFiles(t)
	cells := []struct {
		target string
		pos    int64 // in layoutFile: [0,16K) written, [16K,32K) hole, [32K,48K) unwritten, size 48K
		size   int64
	}{
		{"written", 4 * kib, 4 * kib},
		{"written", 4*kib + 512, 512},
		{"hole", 20 * kib, 4 * kib},
		{"hole", 20*kib + 512, 512},
		{"unwritten", 36 * kib, 4 * kib},
		{"unwritten", 36*kib + 512, 512},
		{"unwritten", 36 * kib, 512},
		{"unwritten", 36*kib + bs, bs}, // one whole block of the filesystem's (1 KiB on some)
		{"past EOF", 48 * kib, 4 * kib},
		{"past EOF", 48*kib + 512, 512},
	}
	const reps = 15
	var table strings.Builder
	fmt.Fprintf(&table, "\nfilesystem: %s\n\n| file | target | write | provider | kernel EAGAIN | agree |\n|---|---|---|---|---|---|\n", fsName)
	for _, file := range files {
		for _, c := range cells {
			agreementCell(t, r, buf, &table, file, c.target, c.pos, c.size, reps)
		}
	}
	t.Log(table.String())
}

// agreementFile is a kind of file the agreement is measured on.
type agreementFile struct {
	name  string
	flags uint32 // inode flags set while it is empty
}

// agreementFiles names the filesystem TMPDIR is on, its block size and the kinds of file
// to measure there: a plain file, and on btrfs also a NOCOW one (written
// in place, as databases on btrfs are advised to make their files).
func agreementFiles(t *testing.T) (string, int64, []agreementFile) {
	var st unix.Statfs_t
	if err := unix.Statfs(t.TempDir(), &st); err != nil {
		t.Fatal(err)
	}
	files := []agreementFile{{name: "plain"}}
	name := fmt.Sprintf("f_type %#x", st.Type)
	switch st.Type {
	case unix.EXT4_SUPER_MAGIC:
		name = "ext4"
	case unix.XFS_SUPER_MAGIC:
		name = "xfs"
	case unix.BTRFS_SUPER_MAGIC:
		name = "btrfs"
		files = append(files, agreementFile{name: "nocow", flags: ring.InodeNoCOW})
	}
	return fmt.Sprintf("%s, %d-byte blocks", name, st.Bsize), st.Bsize, files
}

// agreementCell measures one cell: reps fresh files, the provider's answer
// and the kernel's to a real RWF_NOWAIT write of size bytes at pos.
func agreementCell(t *testing.T, r *ring.Ring, buf []byte, table *strings.Builder, file agreementFile, target string, pos, size int64, reps int) {
	t.Helper()
	providerFast, eagain := 0, 0
	var reason error
	for rep := 0; rep < reps; rep++ {
		f := layoutFileFlags(t, file.flags)
		p := newFileProvider(t, f)
		_, _, err := p.Begin(pos, size, Write|Direct|NoWait)
		if err == nil {
			providerFast++
		} else {
			reason = err
		}
		s := r.NextSQE()
		s.PrepWrite(int32(f.Fd()), buf[:size], uint64(pos), ring.RWFNoWait)
		var cqe [1]ring.CQE
		if _, err := r.SubmitAndWait(1); err != nil {
			t.Fatal(err)
		}
		if n, err := r.Wait(cqe[:], 1, 0); n != 1 || err != nil {
			t.Fatalf("wait: %d, %v", n, err)
		}
		switch cqe[0].Res {
		case -int32(unix.EAGAIN):
			eagain++
		case int32(size):
		default:
			t.Fatalf("%s %d at %d: kernel res %d", target, size, pos, cqe[0].Res)
		}
		f.Close()
		os.Remove(filepath.Join(filepath.Dir(f.Name()), "f"))
	}
	if providerFast != 0 && providerFast != reps {
		t.Errorf("%s %d at %d: the provider answered differently for the same layout", target, size, pos)
	}
	fast := providerFast == reps
	rate := float64(eagain) / float64(reps)
	agree := (fast && eagain == 0) || (!fast && eagain == reps)
	say := "fast"
	if !fast {
		say = "slow: " + strings.TrimPrefix(reason.Error(), "iomap: would block: ")
		say = say[:strings.LastIndex(say, ":")]
	}
	fmt.Fprintf(table, "| %s | %s | %d at %d | %s | %d/%d | %v |\n", file.name, target, size, pos%(4*kib), say, eagain, reps, agree)
	if fast && rate > 0.1 {
		t.Errorf("%s file, %s %d at %d: provider says fast, kernel refused %d/%d", file.name, target, size, pos, eagain, reps)
	}
	if !fast && rate < 0.25 {
		t.Errorf("%s file, %s %d at %d: provider says slow, kernel refused only %d/%d", file.name, target, size, pos, eagain, reps)
	}
}
