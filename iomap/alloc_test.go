package iomap

import "testing"

// Mapping is on the path of every I/O: with a warm map it must not allocate.

func TestMappingAllocatesNothing(t *testing.T) {
	p := newFileProvider(t, layoutFile(t))
	d := NewDeviceSize(1 << 30)
	it := new(Iter) // a submitter keeps its Iter; reuse it like one
	walk := func(ops Ops, pos, length int64, flags ReqFlags) {
		it.Reset(ops, pos, length, flags)
		for it.Next() {
			it.Advance(it.Length())
		}
	}
	cases := []struct {
		name string
		f    func()
	}{
		{"file Begin, read", func() { p.Begin(4*kib, 4*kib, Direct) }},
		{"file Begin, NoWait overwrite", func() { p.Begin(4*kib, 4*kib, Write|Direct|NoWait) }},
		{"file Begin, NoWait refused", func() { p.Begin(20*kib, 4*kib, Write|Direct|NoWait) }},
		{"file walk across three mappings", func() { walk(p, 8*kib, 32*kib, Direct) }},
		{"file NoteWritten of written storage", func() { p.NoteWritten(0, 4*kib) }},
		{"device walk", func() { walk(d, 4096, 1<<20, Write|NoWait) }},
	}
	for _, c := range cases {
		if a := testing.AllocsPerRun(200, c.f); a != 0 {
			t.Errorf("%s: %v allocations per run, want 0", c.name, a)
		}
	}
}
