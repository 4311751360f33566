package aio

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
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
			if err := f.Sync(); err != nil {
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
	disk, err := os.ReadFile(path)
	if os.IsNotExist(err) && len(writes) == 0 {
		return // killed before it created the file: nothing was acknowledged
	}
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(disk)) < syncedSize {
		t.Fatalf("seed %d: file is %d bytes, below the synced size %d", seed, len(disk), syncedSize)
	}
	// The model at the last sync, and for every byte the generations that
	// may have written it after.
	model := make([]int64, len(disk)) // generation of the byte at the sync (0: none)
	later := make([][]int64, len(disk))
	for _, w := range writes {
		for p := w.off; p < w.off+w.n && p < int64(len(disk)); p++ {
			if w.gen <= syncedGen {
				model[p] = w.gen
			} else {
				later[p] = append(later[p], w.gen)
			}
		}
	}
	for p, b := range disk {
		ok := false
		if int64(p) < syncedSize && model[p] != 0 {
			ok = b == crashByte(model[p], int64(p))
		} else {
			ok = b == 0 || (model[p] != 0 && b == crashByte(model[p], int64(p)))
		}
		for _, g := range later[p] {
			ok = ok || b == crashByte(g, int64(p))
		}
		if !ok {
			t.Fatalf("seed %d: byte %d is %d: not what the synced state (gen %d) or any later write put there (synced size %d, file %d)",
				seed, p, b, model[p], syncedSize, len(disk))
		}
	}
}
