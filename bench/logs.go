package bench

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"time"
)

// fio's log files (write_lat_log, write_bw_log, write_iops_log), one per
// clone, numbered from 1: PREFIX_lat.N.log, PREFIX_bw.N.log,
// PREFIX_iops.N.log, with fio's lines "msec, value, direction, bs,
// priority" (with log_offset, "msec, value, direction, bs, offset,
// priority"; iobench sets no priorities: 0). The latency log has an entry per I/O (its latency in ns from
// before the submit call: fio's lat, not clat), or with log_avg_msec the
// mean of each period; the bandwidth (KiB/s) and IOPS logs have one per
// period of min(500 ms, log_avg_msec), as fio's bwavgtime and iopsavgtime
// make them.

// logEntry is one I/O, for the logs. Owner: its queue's goroutine.
type logEntry struct {
	at    time.Duration // since the job's start
	lat   time.Duration
	write bool
	size  int64
	off   int64
}

// logging reports whether the job writes any of fio's logs.
func (j *Job) logging() bool { return j.LatLog != "" || j.BWLog != "" || j.IOPSLog != "" }

// avgPeriod is the bandwidth and IOPS logs' period.
func (j *Job) avgPeriod() time.Duration {
	if j.LogAvg > 0 {
		return min(j.LogAvg, 500*time.Millisecond)
	}
	return 500 * time.Millisecond
}

// writeLogs writes the job's logs from its queues' entries, each clone's
// in its own files. suffix (the engine, when several run) keeps the
// engines' logs apart.
func writeLogs(j *Job, clones [][]logEntry, suffix string) error {
	for c, entries := range clones {
		sort.Slice(entries, func(a, b int) bool { return entries[a].at < entries[b].at })
		n := c + 1
		if j.LatLog != "" {
			if err := writeLog(fmt.Sprintf("%s%s_lat.%d.log", j.LatLog, suffix, n), latLines(entries, j.LogAvg), j.LogOffset); err != nil {
				return err
			}
		}
		if j.BWLog != "" {
			if err := writeLog(fmt.Sprintf("%s%s_bw.%d.log", j.BWLog, suffix, n), rateLines(entries, j.avgPeriod(), true), j.LogOffset); err != nil {
				return err
			}
		}
		if j.IOPSLog != "" {
			if err := writeLog(fmt.Sprintf("%s%s_iops.%d.log", j.IOPSLog, suffix, n), rateLines(entries, j.avgPeriod(), false), j.LogOffset); err != nil {
				return err
			}
		}
	}
	return nil
}

// logLine is one line of a log: msec, value, direction (0 read, 1 write),
// bs, offset (written with log_offset only).
type logLine struct {
	ms, value int64
	dir       int
	bs, off   int64
}

func dirOf(write bool) int {
	if write {
		return 1
	}
	return 0
}

// latLines is the latency log: every I/O, or each period's mean per
// direction.
func latLines(es []logEntry, avg time.Duration) []logLine {
	var out []logLine
	if avg == 0 {
		for _, e := range es {
			out = append(out, logLine{e.at.Milliseconds(), int64(e.lat), dirOf(e.write), e.size, e.off})
		}
		return out
	}
	return periods(es, avg, func(sum [2]float64, n [2]int64, d int) int64 { return int64(sum[d] / float64(n[d])) },
		func(e logEntry) float64 { return float64(e.lat) })
}

// rateLines is the bandwidth (KiB/s) or IOPS log: each period's rate per
// direction.
func rateLines(es []logEntry, period time.Duration, bw bool) []logLine {
	secs := period.Seconds()
	return periods(es, period, func(sum [2]float64, n [2]int64, d int) int64 {
		if bw {
			return int64(sum[d] / 1024 / secs)
		}
		return int64(float64(n[d]) / secs)
	}, func(e logEntry) float64 { return float64(e.size) })
}

// periods folds entries into periods and writes one line per period and
// direction that had I/O, at the period's end.
func periods(es []logEntry, period time.Duration, value func(sum [2]float64, n [2]int64, d int) int64, of func(logEntry) float64) []logLine {
	var out []logLine
	var sum [2]float64
	var n [2]int64
	end := period
	flush := func() {
		for d := range 2 {
			if n[d] > 0 {
				out = append(out, logLine{end.Milliseconds(), value(sum, n, d), d, 0, 0})
			}
		}
		sum, n = [2]float64{}, [2]int64{}
	}
	for _, e := range es {
		for e.at >= end {
			flush()
			end += period
		}
		d := dirOf(e.write)
		sum[d] += of(e)
		n[d]++
	}
	flush()
	return out
}

func writeLog(path string, lines []logLine, withOffset bool) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("log: %w", err)
	}
	w := bufio.NewWriter(f)
	for _, l := range lines {
		if withOffset {
			fmt.Fprintf(w, "%d, %d, %d, %d, %d, 0\n", l.ms, l.value, l.dir, l.bs, l.off)
		} else {
			fmt.Fprintf(w, "%d, %d, %d, %d, 0\n", l.ms, l.value, l.dir, l.bs)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
