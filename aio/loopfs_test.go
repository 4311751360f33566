package aio

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// loopDevice attaches a new sparse file of size bytes to a loop device,
// detached when the test ends. It skips, naming the reason, where loop
// devices cannot be made (not root, no loop driver).
func loopDevice(t *testing.T, size int64) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "loop.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, size); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "--find", "--show", img).CombinedOutput()
	if err != nil {
		t.Skipf("needs a loop device (root and the loop driver): losetup: %v: %s", err, out)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("losetup", "--detach", dev).Run() })
	return dev
}

// loopFS is a filesystem the tests make on a loop device: its name in
// test output, its mkfs command and the image size (sparse: it costs the
// root disk only what is written).
type loopFS struct {
	name string
	mkfs []string // the command; the device is appended
	size int64
	opts string // mount options, "" for none
}

// loopFilesystems are the filesystems beyond the root's ext4 that the
// suite's filesystem tests run on: the block sizes and layouts databases
// meet (XFS as ScyllaDB requires it, btrfs, ext4 with small blocks and
// with bigalloc clusters).
var loopFilesystems = []loopFS{
	{name: "xfs", mkfs: []string{"mkfs.xfs", "-q", "-f"}, size: 320 << 20},
	{name: "xfs-1k", mkfs: []string{"mkfs.xfs", "-q", "-f", "-b", "size=1024"}, size: 320 << 20},
	{name: "xfs-largeio", mkfs: []string{"mkfs.xfs", "-q", "-f"}, size: 320 << 20, opts: "largeio,allocsize=64k"},
	{name: "btrfs", mkfs: []string{"mkfs.btrfs", "-q", "-f"}, size: 320 << 20},
	{name: "ext4-1k", mkfs: []string{"mkfs.ext4", "-q", "-F", "-b", "1024"}, size: 320 << 20},
	{name: "ext4-bigalloc", mkfs: []string{"mkfs.ext4", "-q", "-F", "-O", "bigalloc", "-C", "65536"}, size: 320 << 20},
}

// mount makes the filesystem on a new loop device and mounts it on a new
// directory, both undone when the test ends, and returns the directory.
// It skips, naming the reason, where the tool or loop devices are missing
// (.ci/run installs xfsprogs and btrfs-progs, so CI never skips).
func (fs loopFS) mount(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath(fs.mkfs[0]); err != nil {
		t.Skipf("%s: needs %s (apt-get install xfsprogs btrfs-progs): %v", fs.name, fs.mkfs[0], err)
	}
	dev := loopDevice(t, fs.size)
	args := append(append([]string(nil), fs.mkfs[1:]...), dev)
	if out, err := exec.Command(fs.mkfs[0], args...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %s %v: %v: %s", fs.name, fs.mkfs[0], args, err, out)
	}
	dir := t.TempDir()
	mountArgs := []string{dev, dir}
	if fs.opts != "" {
		mountArgs = append([]string{"-o", fs.opts}, mountArgs...)
	}
	if out, err := exec.Command("mount", mountArgs...).CombinedOutput(); err != nil {
		t.Skipf("%s: mount %v: %v: %s", fs.name, mountArgs, err, out)
	}
	// Cleanups run last-in first-out: unmount before the device is detached
	// and before the directory is removed.
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("%s: umount %s: %v: %s", fs.name, dir, err, out)
		}
	})
	return dir
}
