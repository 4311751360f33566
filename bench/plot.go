package bench

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Plot draws, for every job that ran, two charts side by side: each
// engine's latency CDF (a line per engine, latency on a log scale) and its
// IOPS over the run (Result.Series, needing SeriesStep). The file's name
// says the format: .svg or .png.
func Plot(path string, jobs []Job, results [][]Result) error {
	var rows [][]*plot.Plot
	for i, rs := range results {
		if len(rs) == 0 {
			continue
		}
		cdf, err := cdfPlot(jobs[i].Name, rs)
		if err != nil {
			return err
		}
		iops, err := seriesPlot(jobs[i].Name, rs)
		if err != nil {
			return err
		}
		rows = append(rows, []*plot.Plot{cdf, iops})
	}
	if len(rows) == 0 {
		return fmt.Errorf("plot: no job ran")
	}
	w, h := 24*vg.Centimeter, vg.Length(len(rows))*9*vg.Centimeter
	var canvas interface {
		vg.CanvasSizer
		io.WriterTo
	}
	switch filepath.Ext(path) {
	case ".svg":
		canvas = vgsvg.New(w, h)
	case ".png":
		canvas = vgimg.PngCanvas{Canvas: vgimg.New(w, h)}
	default:
		return fmt.Errorf("plot %s: the name must end in .svg or .png", path)
	}
	dc := draw.New(canvas)
	tiles := draw.Tiles{Rows: len(rows), Cols: 2, PadX: vg.Centimeter, PadY: vg.Centimeter}
	for r, cs := range plot.Align(rows, tiles, dc) {
		for c := range cs {
			rows[r][c].Draw(cs[c])
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := canvas.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// latHist is a result's latencies, both directions together.
func (r *Result) latHist() histogram {
	h := newHistogram()
	for _, d := range []DirResult{r.Read, r.Write} {
		if d.hist.h != nil {
			h.merge(d.hist)
		}
	}
	return h
}

// cdfPoints is the CDF of h: latency in µs against the fraction of I/Os
// at or under it.
func cdfPoints(h histogram) plotter.XYs {
	total := float64(h.h.TotalCount())
	var pts plotter.XYs
	var seen int64
	for _, b := range h.h.Distribution() {
		if b.Count == 0 {
			continue
		}
		seen += b.Count
		pts = append(pts, plotter.XY{X: max(float64(b.To)/1000, 0.001), Y: float64(seen) / total})
	}
	return pts
}

func cdfPlot(job string, rs []Result) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = job + ": latency CDF"
	p.X.Label.Text = "latency (µs, log scale)"
	p.Y.Label.Text = "fraction of I/Os"
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	p.Legend.Top, p.Legend.Left = false, false
	for i, r := range rs {
		h := r.latHist()
		if h.h.TotalCount() == 0 {
			continue
		}
		if err := addLine(p, i, r.Engine, cdfPoints(h)); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func seriesPlot(job string, rs []Result) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = job + ": IOPS over the run"
	p.X.Label.Text = "time (s)"
	p.Y.Label.Text = "IOPS"
	for i, r := range rs {
		if len(r.Series) == 0 {
			continue
		}
		pts := make(plotter.XYs, len(r.Series))
		for k, v := range r.Series {
			pts[k] = plotter.XY{X: float64(k+1) * r.SeriesStep.Seconds(), Y: v}
		}
		if err := addLine(p, i, r.Engine, pts); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func addLine(p *plot.Plot, i int, name string, pts plotter.XYs) error {
	l, err := plotter.NewLine(pts)
	if err != nil {
		return fmt.Errorf("plot %s: %w", name, err)
	}
	l.Color = plotutil.Color(i)
	l.Dashes = plotutil.Dashes(i)
	l.Width = vg.Points(1.5)
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}
