package bench

import (
	"errors"
	"strings"
	"testing"
)

func TestVerifyCatchesDamage(t *testing.T) {
	job := Job{Verify: "xxhash", Seed: 7, BS: 4096}
	s := newStamper(&job)
	block := make([]byte, 4096)
	s.stamp(block, 8192, newUnitTable(1<<20, 4096, 0))
	if err := s.check(block, 8192, nil, false); err != nil {
		t.Fatalf("a good block: %v", err)
	}
	damage := map[string]struct {
		mutate func(b []byte) int64 // returns the offset to check at
		reason string
	}{
		"flipped byte":       {func(b []byte) int64 { b[1000] ^= 1; return 8192 }, "checksum"},
		"torn (zeroed half)": {func(b []byte) int64 { clear(b[2048:]); return 8192 }, "checksum"},
		"misdirected":        {func(b []byte) int64 { return 12288 }, "misdirected"},
		"never written":      {func(b []byte) int64 { clear(b); return 8192 }, "no block header"},
		"other job": {func(b []byte) int64 {
			(&stamper{seed: 99, unit: 4096, hash: s.hash}).stampBlock(b, 8192, 1)
			return 8192
		}, "seed 99"},
		"other checksum": {func(b []byte) int64 {
			(&stamper{seed: 7, unit: 4096, hash: verifyHashes["crc32c"]}).stampBlock(b, 8192, 1)
			return 8192
		}, "magic"},
	}
	for name, d := range damage {
		b := append([]byte(nil), block...)
		off := d.mutate(b)
		err := s.check(b, off, nil, false)
		var ve *VerifyError
		if !errors.As(err, &ve) || ve.Offset != off || !strings.Contains(err.Error(), d.reason) {
			t.Errorf("%s: %v, want a VerifyError at %d saying %q", name, err, off, d.reason)
		}
	}
}

// TestVerifyKnowsTheLastWrite: with the file's table, a block holding an
// older write's data (the newer write lost) fails, naming the generation.
func TestVerifyKnowsTheLastWrite(t *testing.T) {
	job := Job{Verify: "crc32c", Seed: 7, BS: 4096}
	s := newStamper(&job)
	tab := newUnitTable(1<<20, 4096, 0)
	old := make([]byte, 4096)
	s.stamp(old, 4096, tab)
	if err := s.check(old, 4096, tab, false); err != nil {
		t.Fatalf("the last write: %v", err)
	}
	s.stamp(make([]byte, 4096), 4096, tab) // a newer write, never landed
	if err := s.check(old, 4096, tab, false); err == nil || !strings.Contains(err.Error(), "a write was lost") {
		t.Fatalf("an older write's block: %v, want the lost write named", err)
	}
	if err := s.check(make([]byte, 4096), 8192, tab, false); err == nil {
		t.Fatal("a zeroed block where generation 0 was laid out passed")
	}
	tab.forget(4096, 4096)
	if err := s.check(old, 4096, tab, true); err != nil {
		t.Fatalf("a block the table no longer knows, in the verify phase: %v", err)
	}
}

// TestEveryVerifyHash: each checksum verify= names passes its own good
// block and fails a flipped byte.
func TestEveryVerifyHash(t *testing.T) {
	for name, h := range verifyHashes {
		s := &stamper{seed: 3, unit: 4096, hash: h}
		b := make([]byte, 4096)
		s.stampBlock(b, 0, 9)
		if err := s.check(b, 0, nil, false); err != nil {
			t.Errorf("%s: a good block: %v", name, err)
		}
		b[2000] ^= 0x10
		if err := s.check(b, 0, nil, false); err == nil || !strings.Contains(err.Error(), "checksum") {
			t.Errorf("%s: a flipped byte: %v", name, err)
		}
	}
}
