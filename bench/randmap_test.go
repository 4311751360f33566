package bench

import (
	"testing"
	"time"
)

// TestPermutationVisitsEachOnce: the random map's order comes up with
// every block once per pass, for sizes that are and are not powers of 2.
func TestPermutationVisitsEachOnce(t *testing.T) {
	for _, n := range []uint64{1, 2, 3, 7, 64, 1000, 4097, 262144} {
		p := newPermutation(n, 42)
		seen := make([]bool, n)
		inOrder := 0
		for i := range n {
			v := p.at(i)
			if v >= n || seen[v] {
				t.Fatalf("n=%d: element %d is %d (out of range or repeated)", n, i, v)
			}
			seen[v] = true
			if v == i {
				inOrder++
			}
		}
		if n >= 1000 && inOrder > int(n/50) {
			t.Errorf("n=%d: %d elements in place: not shuffled", n, inOrder)
		}
	}
}

// TestRandomMapAsFio: without norandommap a random pass visits every
// block once, as fio's random map makes it; with norandommap offsets are
// drawn with replacement. (iobench drew with replacement whatever the
// job said, and forced norandommap on fio.)
func TestRandomMapAsFio(t *testing.T) {
	for _, noMap := range []bool{false, true} {
		job := DefaultJob()
		job.Size, job.NoRandomMap, job.Filename = 64*4096, noMap, "x"
		fr := &fileRun{}
		g := newGroupRun("t", []Job{job}, map[string]*fileRun{"x": fr}, time.Now())
		jr := g.jobs[0]
		s := newJobSource(jr, jr.clones[0], 0, newQueueStats(), false)
		seen := map[int64]bool{}
		for range 64 {
			seen[s.draw().off] = true
		}
		if !noMap && len(seen) != 64 {
			t.Errorf("with the random map, 64 draws over 64 blocks hit %d of them", len(seen))
		}
		if noMap && len(seen) == 64 {
			t.Errorf("norandommap: 64 draws with replacement hit all 64 blocks")
		}
	}
}
