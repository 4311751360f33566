package aio

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestSmoke(t *testing.T) {
	for _, be := range []Backend{BackendIOUring, BackendSyscall} {
		t.Run(be.String(), func(t *testing.T) {
			rt, err := New(Config{Backend: be})
			if err != nil {
				t.Fatal(err)
			}
			defer rt.Close()
			path := filepath.Join(t.TempDir(), "f")
			f, err := rt.Open(path, os.O_RDWR|os.O_CREATE, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			model := make([]byte, 0)
			write := func(p []byte, off int64) {
				if n, err := f.WriteAt(p, off); err != nil || n != len(p) {
					t.Fatalf("WriteAt(%d bytes at %d) = %d, %v", len(p), off, n, err)
				}
				if end := off + int64(len(p)); end > int64(len(model)) {
					model = append(model, make([]byte, end-int64(len(model)))...)
				}
				copy(model[off:], p)
			}
			write(bytes.Repeat([]byte{1}, 4096), 0)     // append, aligned
			write(bytes.Repeat([]byte{2}, 4096), 4096)  // append within the step: fast
			write([]byte("hello"), 100)                 // unaligned overwrite: RMW
			write(bytes.Repeat([]byte{3}, 10000), 7000) // unaligned append
			write(AlignedBuffer(8192), 16384)
			got := make([]byte, len(model)+100)
			n, err := f.ReadAt(got, 0)
			if n != len(model) || !bytes.Equal(got[:n], model) {
				t.Fatalf("ReadAt: %d, %v; equal %v", n, err, bytes.Equal(got[:n], model))
			}
			small := make([]byte, 7)
			if n, err := f.ReadAt(small, 98); err != nil || n != 7 || !bytes.Equal(small, model[98:105]) {
				t.Fatalf("small unaligned read: %d %v %q", n, err, small)
			}
			if f.Size() != int64(len(model)) {
				t.Fatalf("Size %d, want %d", f.Size(), len(model))
			}
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
			st, _ := os.Stat(path)
			if st.Size() != int64(len(model)) {
				t.Fatalf("size on disk after Sync %d, want %d", st.Size(), len(model))
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			disk, _ := os.ReadFile(path)
			if !bytes.Equal(disk, model) {
				t.Fatal("file differs from model after Close")
			}
			t.Logf("%+v", rt.Stats())
		})
	}
}
