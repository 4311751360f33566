package bench

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RW is the I/O pattern of a job, named as fio names it (plus append).
type RW string

const (
	Read      RW = "read"      // sequential reads
	Write     RW = "write"     // sequential writes over the file
	ReadWrite RW = "rw"        // sequential reads and writes, RWMixRead percent reads (fio's rw, readwrite)
	RandRead  RW = "randread"  // uniformly (or zipf) random reads
	RandWrite RW = "randwrite" // random overwrites
	RandRW    RW = "randrw"    // random reads and writes, RWMixRead percent reads
	Append    RW = "append"    // writes that extend the file, from an empty file
)

func (rw RW) valid() bool {
	switch rw {
	case Read, Write, ReadWrite, RandRead, RandWrite, RandRW, Append:
		return true
	}
	return false
}

func (rw RW) reads() bool  { return rw == Read || rw == RandRead || rw == RandRW || rw == ReadWrite }
func (rw RW) writes() bool { return rw != Read && rw != RandRead }
func (rw RW) mixed() bool  { return rw == RandRW || rw == ReadWrite }
func (rw RW) random() bool { return rw == RandRead || rw == RandWrite || rw == RandRW }

// Job is one benchmark job, in fio's terms.
type Job struct {
	Name    string
	RW      RW
	BS      int64         // block size
	IODepth int           // I/Os in flight per job
	NumJobs int           // jobs running at once (each with its own queue)
	Size    int64         // file size (for append: how far the file may grow)
	Runtime time.Duration // how long to run (after Ramp); 0 with TimeBased false: until TotalBytes
	// TimeBased: the job runs for Runtime, whatever its size (the command
	// line's way, fio's time_based=1). False (a job file without
	// time_based, as fio): it ends after TotalBytes, one pass over its size
	// per job unless io_size says otherwise, or at Runtime if that comes
	// first.
	TimeBased bool
	Ramp      time.Duration // run this long before measuring
	Direct    bool          // O_DIRECT
	RWMixRead int           // randrw: percent of reads
	ZipfTheta float64       // 0: uniform; > 0: zipf:theta random offsets
	// Zones skew random offsets as fio's random_distribution=zoned: each
	// zone takes Pct of the I/Os, uniformly over its Span percent of the
	// region, the zones one after another from the region's start.
	Zones []Zone
	// BlockAlign: random offsets are multiples of it (fio's blockalign);
	// 0: of the smallest block size.
	BlockAlign int64
	FsyncN     int  // a sync after every FsyncN writes (0: none): an fdatasync, or with SyncFull an fsync
	SyncFull   bool // FsyncN's syncs are fsyncs (fio's fsync=N), not fdatasyncs (fdatasync=N)
	// IOEngine is the job file's ioengine (fio's name), which chooses the
	// engines to compare when the command line does not.
	IOEngine string
	// FioOptions are options of fio's io_uring engine from a job file
	// (fixedbufs, registerfiles, sqthread_poll, hipri), passed to the fio
	// engine as they are; the Go engines have no such switches.
	FioOptions []string
	// Filename is the job's file, or several separated by ':' (fio's
	// list; "\:" is a colon in a name), shared by the job's clones. Empty:
	// each clone has NrFiles files of its own, named as fio names them
	// (name.clone.file), in Directory.
	Filename  string
	Directory string // where generated files go, and the prefix of relative filenames; ':' lists give clones theirs in turn
	NrFiles   int    // generated files per clone (fio's nrfiles)
	FileSize  int64  // each file's size; 0: Size divided among the files
	// Offset is where the job's region starts in each file; each clone's
	// starts OffsetIncrement further than the one before (fio's offset,
	// offset_increment).
	Offset, OffsetIncrement int64
	// SeqMod is fio's rw=...:N: for random patterns, N I/Os (the first at a
	// random offset, the rest after it) before a new random offset; for
	// sequential ones, a hole of N bytes after every I/O.
	SeqMod int64
	Loops  int // passes over the size when not time-based (fio's loops)
	// StartDelay holds the job back after its group starts (fio's startdelay).
	StartDelay time.Duration
	// Think: after every ThinkBlocks completed I/Os, the job stalls for
	// Think (the first ThinkSpin of it spinning) before issuing the next,
	// with nothing in flight (fio's thinktime, thinktime_spin, thinktime_blocks).
	Think, ThinkSpin time.Duration
	ThinkBlocks      int
	// Rate caps each clone's reads and writes in bytes per second, RateIOPS
	// in I/Os per second (fio's rate, rate_iops); 0: no cap.
	Rate, RateIOPS [2]int64
	// Stonewall: the job waits for every job before it to finish (fio's
	// stonewall); jobs between stonewalls run at once.
	Stonewall bool
	// WaitFor is fio's wait_for: the job starts when the named one ends.
	// iobench runs it as a stonewall, which means the same only when the
	// named job is the one just before and runs alone (ParseJobFile
	// checks the first; the second is the file's to keep).
	WaitFor     string
	Description string
	Unlink      bool // remove the job's files after it (fio's unlink)
	// Overwrite: a job that only writes gets a file of written data, not a
	// fallocate'd one (fio's overwrite). NoFallocate (fio's fallocate=none):
	// a sparse one.
	Overwrite, NoFallocate bool
	// NumberIOs ends each clone after that many I/Os (fio's number_ios).
	NumberIOs int64
	// LatLog, BWLog, IOPSLog are the prefixes of fio's logs the job writes
	// (write_lat_log, write_bw_log, write_iops_log; logs.go), LogAvg their
	// averaging period (log_avg_msec; 0: the latency log has every I/O).
	LatLog, BWLog, IOPSLog string
	LogAvg                 time.Duration
	LogOffset              bool // the latency log has each I/O's offset (fio's log_offset)
	// NoRandomMap: random offsets are drawn with replacement (fio's
	// norandommap); without it every block of the region comes up once
	// per pass, in a random order (fio's random map). RandRepeat: the
	// offsets repeat from run to run (fio's randrepeat, on by default);
	// off, each run draws its own.
	NoRandomMap, RandRepeat bool
	// Percentiles are the latency percentiles the JSON reports (fio's
	// percentile_list); nil: fio's default list.
	Percentiles []float64
	// ContinueOn are the kinds of error (read, write, verify) after which
	// the job goes on; at any other it ends, as fio's continue_on_error
	// (default none: the first error ends the job). VerifyFatal: a verify
	// failure ends it (fio's verify_fatal).
	ContinueOn  map[string]bool
	VerifyFatal bool
	// ExitAll: when the job ends, the other jobs of its group end too
	// (fio's exitall).
	ExitAll bool
	Seed    uint64
	// Verify is the checksum of every written block's header: "xxhash" or
	// "crc32c" (fio's verify=); reads check it, and a job that writes
	// reads back what it wrote after its writes (DoVerify, as fio's
	// do_verify, default on).
	Verify   string
	DoVerify bool
	// BSSplit, when set, mixes block sizes by weight (fio's bssplit): each
	// I/O takes one of them; BS is then the largest.
	BSSplit []BSPart
	// TotalBytes, when set, ends each clone's run once it has issued that
	// many bytes (fio's io_size, which is per clone), if the runtime does
	// not end it first. A job that is not time-based has Size × Loops.
	TotalBytes int64
	// Prealloc starts from a new file of Size bytes allocated with
	// fallocate and never written (unwritten extents), instead of a file
	// of written data.
	Prealloc bool

	// How a queue submits and reaps, as fio's iodepth_batch_submit,
	// iodepth_batch_complete_min, iodepth_batch_complete_max and
	// iodepth_low, with fio's defaults in DefaultJob: BatchSubmit I/Os per
	// submit call (1: each as soon as it is ready; 0: iodepth); a wait
	// reaps at least BatchCompleteMin (a full queue at least one) and at
	// most BatchCompleteMax (0: BatchCompleteMin); a full queue is reaped
	// down to IODepthLow before it fills again (0: iodepth).
	BatchSubmit, BatchCompleteMin, BatchCompleteMax, IODepthLow int
}

// DefaultJob is the job iobench runs with no arguments.
func DefaultJob() Job {
	return Job{Name: "randread-4k-qd32", RW: RandRead, BS: 4096, IODepth: 32, NumJobs: 1, NrFiles: 1, Loops: 1,
		Size: 1 << 30, Runtime: 10 * time.Second, TimeBased: true, Direct: true, RWMixRead: 50, Seed: 1, DoVerify: true, ThinkBlocks: 1, RandRepeat: true,
		BatchSubmit: 1, BatchCompleteMin: 1}
}

// Validate reports the first thing wrong with the job.
func (j *Job) Validate() error {
	switch {
	case !j.RW.valid():
		return fmt.Errorf("unknown rw %q (read, write, rw, randread, randwrite, randrw, append)", j.RW)
	case j.BS <= 0:
		return errors.New("bs must be positive")
	case j.Direct && j.BS%512 != 0:
		return fmt.Errorf("bs %d is not a multiple of 512, which direct I/O needs (use --direct=0)", j.BS)
	case j.IODepth < 1 || j.IODepth > 4096:
		return fmt.Errorf("iodepth %d outside 1..4096", j.IODepth)
	case j.BatchSubmit < 0 || j.BatchCompleteMin < 0 || j.BatchCompleteMax < 0 || j.IODepthLow < 0:
		return errors.New("iodepth_batch_submit, iodepth_batch_complete_min, iodepth_batch_complete_max and iodepth_low must not be negative")
	case j.NumJobs < 1 || j.NumJobs > 256:
		return fmt.Errorf("numjobs %d outside 1..256", j.NumJobs)
	case j.Size <= 0 && j.FileSize <= 0:
		return errors.New("no size (and no existing file to take it from)")
	case j.Filename == "" && j.Directory == "":
		return errors.New("no filename and no directory")
	case j.Files(0)[0].Size < j.BS:
		return fmt.Errorf("each file's region (%d bytes: size, or filesize, divided among the files) is smaller than bs %d", j.Files(0)[0].Size, j.BS)
	case j.Runtime < 0 || (j.Runtime == 0 && j.TimeBased):
		return errors.New("runtime must be positive (a job that is not time-based may leave it out)")
	case j.Ramp < 0:
		return errors.New("ramp_time must not be negative")
	case j.RWMixRead < 0 || j.RWMixRead > 100:
		return fmt.Errorf("rwmixread %d outside 0..100", j.RWMixRead)
	case j.ZipfTheta < 0:
		return fmt.Errorf("zipf theta %v must not be negative", j.ZipfTheta)
	case j.FsyncN < 0:
		return errors.New("fsync must not be negative")
	case j.NrFiles < 1 || j.NrFiles > 4096:
		return fmt.Errorf("nrfiles %d outside 1..4096", j.NrFiles)
	case j.FileSize < 0 || j.Offset < 0 || j.OffsetIncrement < 0 || j.SeqMod < 0 && (j.RW.random() || j.SeqMod <= -j.Files(0)[0].Size):
		return errors.New("filesize, offset, offset_increment and a random rw modifier must not be negative, nor a step back past the region")
	case j.Loops < 1:
		return fmt.Errorf("loops %d: at least 1", j.Loops)
	case j.StartDelay < 0 || j.Think < 0 || j.ThinkSpin < 0 || j.ThinkSpin > j.Think && j.Think > 0:
		return errors.New("startdelay and thinktime must not be negative, and thinktime_spin not above thinktime")
	case j.ThinkBlocks < 1:
		return fmt.Errorf("thinktime_blocks %d: at least 1", j.ThinkBlocks)
	case j.Rate[0] < 0 || j.Rate[1] < 0 || j.RateIOPS[0] < 0 || j.RateIOPS[1] < 0:
		return errors.New("rate and rate_iops must not be negative")
	case j.Verify != "" && (j.Offset%j.minBS() != 0 || j.OffsetIncrement%j.minBS() != 0):
		return errors.New("verify checks whole blocks: offset and offset_increment must be multiples of the block size")
	case j.RW == Append && (j.Offset > 0 || j.SeqMod > 0):
		return errors.New("append writes from the start of an empty file: offset and the rw modifier mean nothing to it")
	case j.BlockAlign < 0 || j.BlockAlign > 0 && j.BlockAlign%j.minBS() != 0:
		return fmt.Errorf("blockalign %d is not a multiple of the smallest block size %d", j.BlockAlign, j.minBS())
	case j.NumberIOs < 0:
		return errors.New("number_ios must not be negative")
	case j.TotalBytes < 0:
		return errors.New("io_size must not be negative")
	case j.Direct && j.minBS()%512 != 0:
		return fmt.Errorf("bssplit size %d is not a multiple of 512, which direct I/O needs (use --direct=0)", j.minBS())
	case j.Verify != "" && verifyHashes[j.Verify] == nil:
		return fmt.Errorf("verify %q: iobench checks xxhash and crc32c", j.Verify)
	case j.Prealloc && j.RW.reads():
		return errors.New("prealloc makes a file that was never written: reads of it measure nothing")
	case j.Verify != "" && j.minBS() < verifyHeaderBytes:
		return fmt.Errorf("verify needs bs of at least %d bytes", verifyHeaderBytes)
	}
	return nil
}

// CloneBytes is what each clone may issue: io_size (or, for a job that
// is not time-based, its size) times loops; 0 for a time-based job, which
// runs for its runtime, as fio's.
func (j *Job) CloneBytes() int64 {
	if j.TimeBased {
		return 0
	}
	per := j.TotalBytes
	if per == 0 {
		per = j.Size
		if j.FileSize > 0 && per == 0 {
			per = j.Files(0)[0].Size * int64(len(j.Files(0)))
		}
	}
	return per * int64(max(j.Loops, 1))
}

// Zone is one part of a zoned distribution.
type Zone struct{ Pct, Span int }

// ZonesString writes zones as fio's random_distribution takes them.
func ZonesString(zs []Zone) string {
	var sb strings.Builder
	sb.WriteString("zoned")
	for _, z := range zs {
		fmt.Fprintf(&sb, ":%d/%d", z.Pct, z.Span)
	}
	return sb.String()
}

// BSPart is one block size of a bssplit and its share of the I/Os, in percent.
type BSPart struct {
	Size int64
	Pct  int
}

// ParseBSSplit parses fio's bssplit: "4k/50:64k/30:1m/20". A part without
// a percentage takes what the others leave.
func ParseBSSplit(s string) ([]BSPart, error) {
	var parts []BSPart
	total, open := 0, -1
	for _, f := range strings.Split(s, ":") {
		sz, pct, hasPct := strings.Cut(f, "/")
		size, err := ParseSize(sz)
		if err != nil || size <= 0 {
			return nil, fmt.Errorf("bssplit %q: %q is not a block size", s, sz)
		}
		p := 0
		if hasPct {
			if p, err = strconv.Atoi(pct); err != nil || p < 0 || p > 100 {
				return nil, fmt.Errorf("bssplit %q: %q is not a percentage", s, pct)
			}
		} else if open >= 0 {
			return nil, fmt.Errorf("bssplit %q: more than one part without a percentage", s)
		} else {
			open = len(parts)
		}
		total += p
		parts = append(parts, BSPart{size, p})
	}
	if open >= 0 {
		parts[open].Pct = 100 - total
		total = 100
	}
	if total != 100 || (open >= 0 && parts[open].Pct < 0) {
		return nil, fmt.Errorf("bssplit %q: the percentages add up to %d, not 100", s, total)
	}
	return parts, nil
}

// BSSplitString writes parts as fio's bssplit.
func BSSplitString(parts []BSPart) string {
	var sb strings.Builder
	for i, p := range parts {
		if i > 0 {
			sb.WriteByte(':')
		}
		fmt.Fprintf(&sb, "%d/%d", p.Size, p.Pct)
	}
	return sb.String()
}

// minBS is the smallest block size of the job.
func (j *Job) minBS() int64 {
	m := j.BS
	for _, p := range j.BSSplit {
		m = min(m, p.Size)
	}
	return m
}

// ParseSize parses a size as fio writes them: 4096, 4k, 4K, 4KiB, 1M,
// 1MiB, 1g, 2T. Suffixes are powers of 1024.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(strings.ToLower(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "ib"), "b")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		case 't':
			mult = 1 << 40
		}
		if mult != 1 {
			t = t[:n-1]
		}
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a size (like 4096, 4k, 1M, 1GiB)", s)
	}
	if v > (1<<62)/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return v * mult, nil
}

// ParseDuration parses fio's durations: a number of seconds ("10"), or with
// a unit ("10s", "500ms", "2m").
func ParseDuration(s string) (time.Duration, error) {
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(v * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (like 10, 10s, 500ms)", s)
	}
	return d, nil
}

// batching is how a queue submits and reaps: a Job's batch options
// resolved as fio resolves them.
type batching struct {
	submit  int // I/Os per submit call
	reapMin int // completions a wait waits for (at least one)
	reapMax int // completions a wait takes at most
	low     int // a full queue is reaped down to this many in flight
}

func (j *Job) batching() batching {
	d := j.IODepth
	b := batching{submit: j.BatchSubmit, reapMin: j.BatchCompleteMin, reapMax: j.BatchCompleteMax, low: j.IODepthLow}
	if b.submit == 0 || b.submit > d {
		b.submit = d
	}
	if b.low == 0 || b.low > d {
		b.low = d
	}
	// fio waits for one completion where the minimum is 0 and the queue
	// is full; this loop waits only when it is full or has nothing to
	// send, so it always waits for one.
	b.reapMin = min(max(b.reapMin, 1), d)
	b.reapMax = min(max(b.reapMax, b.reapMin), d)
	return b
}
