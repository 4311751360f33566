package pebblevfs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/nowaitio/nowait/aio"
	"github.com/nowaitio/nowait/pebblevfs/internal/quietlog"
)

// The crash test: a child process writes keys through pebble on nowait,
// each with Sync: true, and reports each on a pipe once Set has returned;
// the parent SIGKILLs it at a random moment, reopens the database with
// pebble on nowait and then with pebble on vfs.Default, and checks that
// every key reported is there with its value. The next child goes on in
// the same database. NOWAIT_PEBBLE_KILLS sets the number of kills
// (default 8, 3 with -short; docs/reliability.md has the long run).

const crashDirEnv = "NOWAIT_PEBBLE_CRASH_DIR"

func crashOptions(fs vfs.FS) *pebble.Options {
	// A small memtable and L0 trigger, so that flushes and compactions
	// (sstables, MANIFEST edits, WAL rotation) run while the kills land.
	return &pebble.Options{FS: fs, MemTableSize: 256 << 10, L0CompactionThreshold: 2, Logger: quietlog.Logger{}}
}

func crashKey(i int) []byte { return []byte(fmt.Sprintf("key-%08d", i)) }

// crashValue is key i's value: its own length and bytes, from i alone.
func crashValue(i int) []byte {
	rng := rand.New(rand.NewPCG(uint64(i), 7))
	v := make([]byte, 16+rng.IntN(2000))
	for k := range v {
		v[k] = byte(rng.Uint32())
	}
	return v
}

func TestCrash(t *testing.T) {
	kills := envInt("NOWAIT_PEBBLE_KILLS", 8)
	if testing.Short() {
		kills = envInt("NOWAIT_PEBBLE_KILLS", 3)
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	next, acked := 0, 0
	for kill := range kills {
		got := runAndKill(t, dir, next, time.Duration(20+rng.IntN(300))*time.Millisecond)
		acked += got
		_, nfs := newFS(t)
		for _, fs := range []struct {
			name string
			fs   vfs.FS
		}{{"nowait", nfs}, {"vfs.Default", vfs.Default}} {
			if err := checkKeys(dir, fs.fs, next+got); err != nil {
				t.Fatalf("kill %d, reopened with pebble on %s: %v", kill, fs.name, err)
			}
		}
		next += got
	}
	t.Logf("%d kills, %d acknowledged keys, none lost", kills, acked)
	if acked == 0 {
		t.Fatal("no key was acknowledged before the kills: nothing was tested")
	}
}

// runAndKill starts a child writing keys from first on, kills it after
// d (once it has acknowledged at least one key), and returns how many keys
// it acknowledged: first, first+1, ... in order.
func runAndKill(t *testing.T, dir string, first int, d time.Duration) int {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, "NOWAIT_PEBBLE_FIRST="+strconv.Itoa(first))
	cmd.ExtraFiles = []*os.File{w}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	acks := make(chan int, 1<<16)
	go func() {
		defer close(acks)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			i, err := strconv.Atoi(sc.Text())
			if err != nil {
				return
			}
			acks <- i
		}
	}()
	want, timer := first, time.NewTimer(d)
	killed := false
	for !killed {
		select {
		case i, ok := <-acks:
			if !ok {
				cmd.Wait()
				t.Fatalf("the child stopped before it was killed:\n%s", stderr.String())
			}
			if i != want {
				t.Fatalf("the child acknowledged key %d, want %d", i, want)
			}
			want++
		case <-timer.C:
			if want == first {
				timer.Reset(10 * time.Millisecond) // not yet one key: give it time
				continue
			}
			cmd.Process.Signal(syscall.SIGKILL)
			killed = true
		}
	}
	cmd.Wait()
	for i := range acks { // acknowledged before the kill landed
		if i != want {
			t.Fatalf("the child acknowledged key %d, want %d", i, want)
		}
		want++
	}
	r.Close()
	return want - first
}

// checkKeys opens the database in dir with pebble on fs and checks keys
// 0..n-1.
func checkKeys(dir string, fs vfs.FS, n int) error {
	db, err := pebble.Open(dir, crashOptions(fs))
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer db.Close()
	for i := range n {
		v, closer, err := db.Get(crashKey(i))
		if err != nil {
			return fmt.Errorf("acknowledged key %d of %d: %w", i, n, err)
		}
		ok := bytes.Equal(v, crashValue(i))
		closer.Close()
		if !ok {
			return fmt.Errorf("acknowledged key %d of %d: wrong value", i, n)
		}
	}
	return nil
}

// TestCrashChild is the child of TestCrash; it runs only when TestCrash
// starts it.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("the child of TestCrash, run by it")
	}
	first, _ := strconv.Atoi(os.Getenv("NOWAIT_PEBBLE_FIRST"))
	acks := os.NewFile(3, "acks")
	rt, err := aio.New(aio.Config{})
	if err != nil {
		t.Fatal(err)
	}
	db, err := pebble.Open(dir, crashOptions(NewWith(rt, Options{WrittenCache: 8 << 20})))
	if err != nil {
		t.Fatal(err)
	}
	out := bufio.NewWriter(acks)
	for i := first; ; i++ {
		if err := db.Set(crashKey(i), crashValue(i), pebble.Sync); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(out, "%d\n", i)
		if err := out.Flush(); err != nil {
			if errors.Is(err, io.ErrClosedPipe) || errors.Is(err, syscall.EPIPE) {
				return
			}
			t.Fatal(err)
		}
	}
}
