package bench

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPlot draws a run of two engines as PNG and SVG and reads the
// pictures back: the PNG decodes to an image of the size drawn, not
// blank; the SVG has each engine's line in both charts' legends.
func TestPlot(t *testing.T) {
	SeriesStep = 100 * time.Millisecond
	defer func() { SeriesStep = 0 }()
	job := smallJob(t, RandRead)
	job.Runtime = 600 * time.Millisecond
	rs, err := runOn(job, PsyncEngine{}, AIOEngine{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if len(r.Series) < 4 || r.SeriesStep != SeriesStep {
			t.Fatalf("%s: %d IOPS samples every %v over 600 ms", r.Engine, len(r.Series), r.SeriesStep)
		}
	}
	dir := t.TempDir()
	pngPath, svgPath := filepath.Join(dir, "p.png"), filepath.Join(dir, "p.svg")
	for _, p := range []string{pngPath, svgPath} {
		if err := Plot(p, []Job{job}, [][]Result{rs}); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("the PNG does not decode: %v", err)
	}
	b := img.Bounds()
	colors := map[uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colors[r<<16^g<<8^bl] = true
		}
	}
	if b.Dx() < 500 || b.Dy() < 200 || len(colors) < 4 {
		t.Errorf("PNG %dx%d with %d colours: blank?", b.Dx(), b.Dy(), len(colors))
	}
	svg, err := os.ReadFile(svgPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs { // aio, or aio(syscall) where io_uring is refused
		if n := strings.Count(string(svg), ">"+r.Engine+"<"); n != 2 {
			t.Errorf("the SVG names %s %d times, want once per chart's legend", r.Engine, n)
		}
	}
	if err := Plot(filepath.Join(dir, "p.gif"), []Job{job}, [][]Result{rs}); err == nil {
		t.Error("a .gif name accepted")
	}
}
