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
	s.stamp(block, 8192)
	if err := s.check(block, 8192); err != nil {
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
		"other job":          {func(b []byte) int64 { stampBlock(b, 8192, 1, 99); return 8192 }, "seed 99"},
	}
	for name, d := range damage {
		b := append([]byte(nil), block...)
		off := d.mutate(b)
		err := s.check(b, off)
		var ve *VerifyError
		if !errors.As(err, &ve) || ve.Offset != off || !strings.Contains(err.Error(), d.reason) {
			t.Errorf("%s: %v, want a VerifyError at %d saying %q", name, err, off, d.reason)
		}
	}
}
