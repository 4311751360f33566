package aio

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestWriteNearTheLargestOffset: a write of 5 bytes that ends 4,092 bytes
// short of 2^63, where the last filesystem block of the offset space
// cannot be written as a whole unit with direct I/O (its end, 2^63, is
// not a file offset). The runtime does what os.File does on the same
// filesystem: where os.File's write succeeds (XFS, btrfs: files may reach
// 8 EiB), the bytes read back and the size is exact; where it fails
// (ext4's 16 TiB limit: EFBIG), it fails with the same errno. The build
// before failed on XFS ("allocate ... file too large": the append-ahead
// step reached past the largest offset) and btrfs ("iomap: invalid
// range": the unit's end overflowed).
func TestWriteNearTheLargestOffset(t *testing.T) {
	const off = 1<<63 - 4097
	data := []byte("edge!")
	dir := t.TempDir()
	plain, err := os.OpenFile(filepath.Join(dir, "os"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	_, osErr := plain.WriteAt(data, off)
	plain.Close()
	rt := newRuntime(t, Config{})
	f := openFile(t, rt, filepath.Join(dir, "aio"))
	_, err = f.WriteAt(data, off)
	if osErr != nil {
		var errno syscall.Errno
		if !errors.As(osErr, &errno) || !errors.Is(err, errno) {
			t.Fatalf("os.File's write failed with %v; the runtime's: %v, want the same errno", osErr, err)
		}
		t.Logf("this filesystem refuses it (%v), and so does the runtime", osErr)
		return
	}
	if err != nil {
		t.Fatalf("os.File writes 5 bytes at 2^63-4097 here; the runtime: %v", err)
	}
	if got := f.Size(); got != off+int64(len(data)) {
		t.Fatalf("Size %d, want %d", got, off+int64(len(data)))
	}
	back := make([]byte, len(data)+10)
	n, err := f.ReadAt(back, off-5)
	if n != len(data)+5 || !bytes.Equal(back[5:n], data) || !bytes.Equal(back[:5], make([]byte, 5)) {
		t.Fatalf("read back %d bytes %q, %v", n, back[:n], err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(dir, "aio")); err != nil || st.Size() != off+int64(len(data)) {
		t.Fatalf("size on disk after Sync: %v, %v", st.Size(), err)
	}
}
