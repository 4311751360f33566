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
		{"past EOF", 48 * kib, 4 * kib},
		{"past EOF", 48*kib + 512, 512},
	}
	const reps = 15
	var table strings.Builder
	fmt.Fprintf(&table, "\n| target | write | provider | kernel EAGAIN | agree |\n|---|---|---|---|---|\n")
	for _, c := range cells {
		providerFast, eagain := 0, 0
		var reason error
		for rep := 0; rep < reps; rep++ {
			f := layoutFile(t)
			p := newFileProvider(t, f)
			_, _, err := p.Begin(c.pos, c.size, Write|Direct|NoWait)
			if err == nil {
				providerFast++
			} else {
				reason = err
			}
			s := r.NextSQE()
			s.PrepWrite(int32(f.Fd()), buf[:c.size], uint64(c.pos), ring.RWFNoWait)
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
			case int32(c.size):
			default:
				t.Fatalf("%s %d at %d: kernel res %d", c.target, c.size, c.pos, cqe[0].Res)
			}
			f.Close()
			os.Remove(filepath.Join(filepath.Dir(f.Name()), "f"))
		}
		if providerFast != 0 && providerFast != reps {
			t.Errorf("%s %d at %d: the provider answered differently for the same layout", c.target, c.size, c.pos)
		}
		fast := providerFast == reps
		rate := float64(eagain) / reps
		agree := (fast && eagain == 0) || (!fast && eagain == reps)
		say := "fast"
		if !fast {
			say = "slow: " + strings.TrimPrefix(reason.Error(), "iomap: would block: ")
			say = say[:strings.LastIndex(say, ":")]
		}
		fmt.Fprintf(&table, "| %s | %d at %d | %s | %d/%d | %v |\n", c.target, c.size, c.pos%(4*kib), say, eagain, reps, agree)
		if fast && rate > 0.1 {
			t.Errorf("%s %d at %d: provider says fast, kernel refused %d/%d", c.target, c.size, c.pos, eagain, reps)
		}
		if !fast && rate < 0.25 {
			t.Errorf("%s %d at %d: provider says slow, kernel refused only %d/%d", c.target, c.size, c.pos, eagain, reps)
		}
	}
	t.Log(table.String())
}
