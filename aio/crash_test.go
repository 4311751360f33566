package aio

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The crash test: a child process (this test binary, run again) appends
// and overwrites through the runtime and syncs, and tells the parent on a
// pipe what it is about to write and what it has acknowledged as durable.
// The parent kills it with SIGKILL at a random moment, opens the file with
// plain os calls and checks it. Short by default; the long mode is
//
//	go test -run TestCrashKill ./aio -args -crash.kills=100
var crashKills = flag.Int("crash.kills", 8, "SIGKILLs in TestCrashKill")

const crashChildEnv = "NOWAIT_CRASH_CHILD"

// crashByte is what write gen puts at file offset p: never zero, so that a
// byte of a write is told apart from the zeros of unwritten space.
func crashByte(gen, p int64) byte { return byte(1 + (gen*131+p*7+p>>11)%251) }

// TestCrashChild is the child's side; it runs only when TestCrashKill
// starts it, with the file to use in the environment.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashChildEnv)
	if path == "" {
		t.Skip("the child process of TestCrashKill; it runs only when that test starts it")
	}
	seed, _ := strconv.ParseUint(os.Getenv(crashChildEnv+"_SEED"), 10, 64)
	rng := rand.New(rand.NewPCG(seed, 3))
	rt, err := New(Config{Backend: testBackend()})
	if err != nil {
		fmt.Println("error", err)
		return
	}
	f, err := rt.Open(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		fmt.Println("error", err)
		return
	}
	size := int64(0)
	for gen := int64(1); ; gen++ {
		var off, n int64
		if size > 0 && rng.IntN(3) == 0 {
			off = rng.Int64N(size) // an overwrite
			n = min(1+rng.Int64N(20000), size-off)
		} else {
			off, n = size, 1+rng.Int64N(20000) // an append
		}
		buf := make([]byte, n)
		for i := range buf {
			buf[i] = crashByte(gen, off+int64(i))
		}
		// The intent goes out before the write: whatever the kill
		// interrupts, the parent knows every write that may have landed.
		fmt.Printf("w %d %d %d\n", gen, off, n)
		if _, err := f.WriteAt(buf, off); err != nil {
			fmt.Println("error", err)
			return
		}
		size = max(size, off+n)
		if rng.IntN(4) == 0 {
			// SyncData as often as Sync: a file synced so gets its
			// append-ahead written with zeros, which must keep the same
			// promise (the data durable, and a size no smaller).
			sync := f.Sync
			if rng.IntN(2) == 0 {
				sync = f.SyncData
			}
			if err := sync(); err != nil {
				fmt.Println("error", err)
				return
			}
			fmt.Printf("s %d %d\n", gen, size) // everything up to write gen is durable, and the size
		}
	}
}

type crashWrite struct{ gen, off, n int64 }

func TestCrashKill(t *testing.T) {
	for kill := range *crashKills {
		path := filepath.Join(t.TempDir(), fmt.Sprintf("crash-%d", kill))
		seed := rand.Uint64()
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v=false")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+path, fmt.Sprintf("%s_SEED=%d", crashChildEnv, seed))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		var writes []crashWrite
		syncedGen, syncedSize := int64(0), int64(0)
		// The kill comes at a random moment after the child has begun
		// writing (its start-up time varies, slower under -race).
		var killAt <-chan time.Time
		started := false
	read:
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					break read
				}
				f := strings.Fields(line)
				if len(f) == 0 {
					continue
				}
				if !started {
					started = true
					killAt = time.After(time.Duration(10+rand.IntN(250)) * time.Millisecond)
				}
				switch f[0] {
				case "w":
					g, _ := strconv.ParseInt(f[1], 10, 64)
					o, _ := strconv.ParseInt(f[2], 10, 64)
					n, _ := strconv.ParseInt(f[3], 10, 64)
					writes = append(writes, crashWrite{g, o, n})
				case "s":
					syncedGen, _ = strconv.ParseInt(f[1], 10, 64)
					syncedSize, _ = strconv.ParseInt(f[2], 10, 64)
				case "error":
					t.Fatalf("child: %s", line)
				}
			case <-killAt:
				cmd.Process.Signal(syscall.SIGKILL)
				killAt = nil
			}
		}
		cmd.Wait()
		checkCrashFile(t, path, seed, writes, syncedGen, syncedSize)
	}
}

// checkCrashFile checks what a killed child left: every byte acknowledged
// durable is there (or was overwritten by a later write the child began),
// the size is at least the synced size, and past it there is nothing but
// zeros or bytes some write put there.
func checkCrashFile(t *testing.T, path string, seed uint64, writes []crashWrite, syncedGen, syncedSize int64) {
	t.Helper()
	if err := crashFileError(path, writes, syncedGen, syncedSize); err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
}

func crashFileError(path string, writes []crashWrite, syncedGen, syncedSize int64) error {
	disk, err := os.ReadFile(path)
	if os.IsNotExist(err) && len(writes) == 0 {
		return nil // killed before it created the file: nothing was acknowledged
	}
	if err != nil {
		return err
	}
	if int64(len(disk)) < syncedSize {
		return fmt.Errorf("file is %d bytes, below the synced size %d", len(disk), syncedSize)
	}
	for _, iv := range crashIntervals(writes, syncedGen, int64(len(disk))) {
		for p := iv.off; p < iv.end; p++ {
			b := disk[p]
			ok := false
			if p < syncedSize && iv.synced != 0 {
				ok = b == crashByte(iv.synced, p)
			} else {
				ok = b == 0 || (iv.synced != 0 && b == crashByte(iv.synced, p))
			}
			for _, g := range iv.later {
				ok = ok || b == crashByte(g, p)
			}
			if !ok {
				return fmt.Errorf("byte %d is %d: not what the synced state (gen %d) or any later write put there (synced size %d, file %d)",
					p, b, iv.synced, syncedSize, len(disk))
			}
		}
	}
	return nil
}

// TestCrashCheckerCatchesDamage: the checker finds a lost synced write, a
// stale byte, garbage past the synced size and a short file, and accepts
// a later write that landed and one that did not.
func TestCrashCheckerCatchesDamage(t *testing.T) {
	writes := []crashWrite{{1, 0, 10000}, {2, 5000, 10000}, {3, 12000, 3000}}
	const syncedGen, syncedSize = 2, 15000
	good := make([]byte, 15000)
	for _, w := range writes[:2] {
		for p := w.off; p < w.off+w.n; p++ {
			good[p] = crashByte(w.gen, p)
		}
	}
	withLater := bytes.Clone(good)
	for p := int64(12000); p < 13000; p++ { // part of write 3 landed
		withLater[p] = crashByte(3, p)
	}
	damage := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	cases := []struct {
		name string
		disk []byte
		ok   bool
	}{
		{"as synced", good, true},
		{"a later write partly landed", withLater, true},
		{"a synced write lost", damage(func(b []byte) []byte { clear(b[6000:7000]); return b }), false},
		{"a stale byte (gen 1 where gen 2 synced)", damage(func(b []byte) []byte { b[5000] = crashByte(1, 5000); return b }), false},
		{"garbage past the synced size", damage(func(b []byte) []byte { return append(b, 0, 0, 7) }), false},
		{"short", good[:14000], false},
	}
	for _, c := range cases {
		path := filepath.Join(t.TempDir(), "f")
		if err := os.WriteFile(path, c.disk, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := crashFileError(path, writes, syncedGen, syncedSize); (err == nil) != c.ok {
			t.Errorf("%s: checker says %v", c.name, err)
		}
	}
}

// crashInterval is a range of the file that the same writes cover: the
// last one acknowledged durable (synced; 0 for none) and the ones begun
// after the last sync (later). The model is kept as ranges, not per byte,
// so that checking a file of 90 MB takes kilobytes, not gigabytes.
type crashInterval struct {
	off, end int64
	synced   int64
	later    []int64
}

// crashIntervals cuts [0, size) at every write's edges and says, for each
// piece, which writes cover it. Generations grow with time, so the
// synced write of a piece is the highest synced generation covering it.
func crashIntervals(writes []crashWrite, syncedGen, size int64) []crashInterval {
	cuts := []int64{0, size}
	for _, w := range writes {
		cuts = append(cuts, min(w.off, size), min(w.off+w.n, size))
	}
	sortInt64(cuts)
	var ivs []crashInterval
	for i := 0; i+1 < len(cuts); i++ {
		if cuts[i] < cuts[i+1] {
			ivs = append(ivs, crashInterval{off: cuts[i], end: cuts[i+1]})
		}
	}
	for _, w := range writes {
		// The pieces inside [w.off, w.off+w.n): found by binary search.
		lo := sort.Search(len(ivs), func(i int) bool { return ivs[i].off >= w.off })
		for i := lo; i < len(ivs) && ivs[i].end <= w.off+w.n; i++ {
			if w.gen <= syncedGen {
				ivs[i].synced = max(ivs[i].synced, w.gen)
			} else {
				ivs[i].later = append(ivs[i].later, w.gen)
			}
		}
	}
	return ivs
}
