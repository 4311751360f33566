package bench

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
	"gopkg.in/ini.v1"
)

// ParseJobFile reads a fio job file: a [global] section of defaults and
// one section per job, in fio's option names, with fio's include
// directives (relative to dir), ${VAR} from the environment and fio's
// $pagesize, $mb_memory and $ncpus. Options that would change what a job
// does and that iobench does not implement are an error, named, rather
// than silently ignored; options that change nothing here (fio's
// reporting) are accepted.
func ParseJobFile(r io.Reader, dir string) ([]Job, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if data, err = expandIncludes(data, dir, 0); err != nil {
		return nil, err
	}
	data = expandVars(data)
	// fio takes an inline comment after a tab as after a space; the INI
	// parser only after a space.
	data = bytes.ReplaceAll(bytes.ReplaceAll(data, []byte("\t;"), []byte(" ;")), []byte("\t#"), []byte(" #"))
	// Sections of one name are separate jobs, as fio runs them.
	// Option names are case-insensitive; job names keep their case.
	f, err := ini.LoadSources(ini.LoadOptions{AllowBooleanKeys: true, InsensitiveKeys: true, AllowNonUniqueSections: true,
		IgnoreInlineComment: false, SpaceBeforeInlineComment: true}, data)
	if err != nil {
		return nil, fmt.Errorf("job file: %w", err)
	}
	// fio's defaults where they differ from the command line's: a job is
	// not time-based, has no runtime limit, and its size is its file's.
	global := DefaultJob()
	global.Name, global.TimeBased, global.Runtime, global.Size = "", false, 0, 0
	if s, err := f.GetSection("global"); err == nil {
		if err := applyOptions(&global, s); err != nil {
			return nil, fmt.Errorf("job file [global]: %w", err)
		}
	}
	var jobs []Job
	for _, s := range f.Sections() {
		name := s.Name()
		isDefault := strings.EqualFold(name, ini.DefaultSection)
		if isDefault || name == "global" {
			if isDefault && len(s.Keys()) > 0 {
				return nil, fmt.Errorf("job file: options before the first section: %s", strings.Join(s.KeyStrings(), ", "))
			}
			continue
		}
		j := global
		j.Name = name
		if err := applyOptions(&j, s); err != nil {
			return nil, fmt.Errorf("job file [%s]: %w", name, err)
		}
		if j.TimeBased && j.Runtime == 0 {
			return nil, fmt.Errorf("job file [%s]: time_based without a runtime would never end", name)
		}
		if j.WaitFor != "" {
			if len(jobs) == 0 || jobs[len(jobs)-1].Name != j.WaitFor {
				return nil, fmt.Errorf("job file [%s]: wait_for=%s: iobench waits only for the job just before, as a stonewall", name, j.WaitFor)
			}
			j.Stonewall = true
		}
		jobs = append(jobs, j)
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("job file: no job sections (only [global])")
	}
	return jobs, nil
}

// ReadJobFile parses the job file at path (includes relative to its
// directory).
func ReadJobFile(path string) ([]Job, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("job file: %w", err)
	}
	defer f.Close()
	return ParseJobFile(f, filepath.Dir(path))
}

// expandIncludes replaces fio's "include FILE" lines with the file's
// lines, nested up to a depth.
func expandIncludes(data []byte, dir string, depth int) ([]byte, error) {
	if depth > 8 {
		return nil, fmt.Errorf("job file: includes nested more than 8 deep (a loop?)")
	}
	var out bytes.Buffer
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		name, ok := bytes.CutPrefix(bytes.TrimSpace(line), []byte("include "))
		if !ok {
			out.Write(line)
			continue
		}
		path := string(bytes.TrimSpace(name))
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		inc, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("job file: include: %w", err)
		}
		if bytes.Contains(inc, []byte("[")) && sectionLine(inc) {
			return nil, fmt.Errorf("job file: include %s: an included file may not have [sections]", path)
		}
		if inc, err = expandIncludes(inc, filepath.Dir(path), depth+1); err != nil {
			return nil, err
		}
		out.Write(inc)
		out.WriteByte('\n')
	}
	return out.Bytes(), nil
}

func sectionLine(data []byte) bool {
	for _, l := range bytes.Split(data, []byte("\n")) {
		if bytes.HasPrefix(bytes.TrimSpace(l), []byte("[")) {
			return true
		}
	}
	return false
}

var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$(pagesize|mb_memory|ncpus)\b`)

// expandVars replaces ${VAR} with the environment's value (empty when
// unset, as fio) and fio's reserved $pagesize, $mb_memory and $ncpus.
func expandVars(data []byte) []byte {
	return varRef.ReplaceAllFunc(data, func(m []byte) []byte {
		sub := varRef.FindSubmatch(m)
		if len(sub[1]) > 0 {
			return []byte(os.Getenv(string(sub[1])))
		}
		switch string(sub[2]) {
		case "pagesize":
			return []byte(strconv.Itoa(os.Getpagesize()))
		case "ncpus":
			return []byte(strconv.Itoa(runtime.NumCPU()))
		}
		var si unix.Sysinfo_t
		unix.Sysinfo(&si)
		return []byte(strconv.FormatUint(uint64(si.Totalram)*uint64(si.Unit)>>20, 10))
	})
}

// ignoredOptions change nothing in what a job does: fio's reporting and
// its own bookkeeping. The Go engines measure what they measure whatever
// these say; they do not reach the fio engine either, so that its rows
// are measured as the others.
var ignoredOptions = map[string]bool{
	"group_reporting": true, "new_group": true,
	"thread": true, "invalidate": true, "stats": true,
	"clat_percentiles": true, "slat_percentiles": true, "lat_percentiles": true,
	"disable_lat": true, "disable_clat": true, "disable_slat": true, "disable_bw_measurement": true,
	"gtod_reduce": true, "unified_rw_reporting": true, "kb_base": true, "per_job_logs": true,
	"verify_dump": true, "random_generator": true, "create_on_open": true, "threads": true,
}

// localEngines are fio's engines that do I/O to local files the way one of
// iobench's engines does: a job file naming one is accepted (--compare
// still chooses what runs); any other (null, mmap, net, ...) is refused by
// name, since iobench would run real file I/O in its place.
var localEngines = map[string]bool{
	"io_uring": true, "libaio": true, "psync": true, "sync": true, "pvsync": true, "pvsync2": true, "posixaio": true,
}

// refusedWhy names, for options fio's examples use that iobench does not
// implement, what to do instead.
var refusedWhy = map[string]string{
	"write_hist_log":        "no histogram logs; --output-format=json+ has the latency bins",
	"bsrange":               "use bssplit",
	"rate_process":          "the rate cap is linear",
	"rate_min":              "no minimum rate",
	"verify_async":          "verification runs in the queue",
	"filename_format":       "files are named jobname.clone.file, as fio's default",
	"file_service_type":     "files are served round robin, fio's default",
	"lockfile":              "no file locks",
	"thinktime_blocks_type": "thinktime counts completed blocks, fio's default",
	"rw_sequencer":          "the rw modifier is sequential, fio's default",
	"overwrite":             "",
}

func applyOptions(j *Job, s *ini.Section) error {
	var unsupported []string
	for _, k := range s.Keys() {
		name, val := strings.ToLower(k.Name()), strings.TrimSpace(k.Value())
		if err := ApplyOption(j, name, val); err == errUnsupported {
			if why := refusedWhy[name]; why != "" {
				name += " (" + why + ")"
			}
			unsupported = append(unsupported, name)
		} else if err != nil {
			return fmt.Errorf("%s=%s: %w", name, val, err)
		}
	}
	if unsupported != nil {
		sort.Strings(unsupported)
		return fmt.Errorf("unsupported options: %s", strings.Join(unsupported, ", "))
	}
	return nil
}

var errUnsupported = fmt.Errorf("unsupported")

// sizeOptions are the options whose value is one size.
var sizeOptions = map[string]func(j *Job) *int64{
	"size": func(j *Job) *int64 { return &j.Size }, "filesize": func(j *Job) *int64 { return &j.FileSize },
	"io_size": func(j *Job) *int64 { return &j.TotalBytes }, "io_limit": func(j *Job) *int64 { return &j.TotalBytes },
	"offset": func(j *Job) *int64 { return &j.Offset }, "offset_increment": func(j *Job) *int64 { return &j.OffsetIncrement },
}

// intOptions are the options whose value is a count.
var intOptions = map[string]func(j *Job) *int{
	"iodepth": func(j *Job) *int { return &j.IODepth }, "numjobs": func(j *Job) *int { return &j.NumJobs },
	"nrfiles": func(j *Job) *int { return &j.NrFiles }, "loops": func(j *Job) *int { return &j.Loops },
	"thinktime_blocks":     func(j *Job) *int { return &j.ThinkBlocks },
	"iodepth_batch_submit": func(j *Job) *int { return &j.BatchSubmit }, "iodepth_batch": func(j *Job) *int { return &j.BatchSubmit },
	"iodepth_batch_complete_min": func(j *Job) *int { return &j.BatchCompleteMin }, "iodepth_batch_complete": func(j *Job) *int { return &j.BatchCompleteMin },
	"iodepth_batch_complete_max": func(j *Job) *int { return &j.BatchCompleteMax }, "iodepth_low": func(j *Job) *int { return &j.IODepthLow },
}

// boolOptions are the options whose value is a switch.
var boolOptions = map[string]func(j *Job) *bool{
	"direct": func(j *Job) *bool { return &j.Direct }, "time_based": func(j *Job) *bool { return &j.TimeBased },
	"stonewall": func(j *Job) *bool { return &j.Stonewall }, "wait_for_previous": func(j *Job) *bool { return &j.Stonewall },
	"do_verify": func(j *Job) *bool { return &j.DoVerify }, "unlink": func(j *Job) *bool { return &j.Unlink },
	"overwrite": func(j *Job) *bool { return &j.Overwrite },
}

// timeOptions are durations in seconds by default (runtime), or in
// microseconds (thinktime), as fio reads them.
var timeOptions = map[string]struct {
	unit time.Duration
	f    func(j *Job) *time.Duration
}{
	"runtime": {time.Second, func(j *Job) *time.Duration { return &j.Runtime }}, "timeout": {time.Second, func(j *Job) *time.Duration { return &j.Runtime }},
	"ramp_time":  {time.Second, func(j *Job) *time.Duration { return &j.Ramp }},
	"startdelay": {time.Second, func(j *Job) *time.Duration { return &j.StartDelay }},
	"thinktime":  {time.Microsecond, func(j *Job) *time.Duration { return &j.Think }}, "thinktime_spin": {time.Microsecond, func(j *Job) *time.Duration { return &j.ThinkSpin }},
}

// ApplyOption sets one job option, named and written as fio's (in a job
// file or on the command line). An option iobench does not implement is
// an error that says so.
func ApplyOption(j *Job, name, val string) error {
	var err error
	if f, ok := sizeOptions[name]; ok {
		*f(j), err = ParseSize(val)
		return err
	}
	if f, ok := intOptions[name]; ok {
		*f(j), err = strconv.Atoi(val)
		return err
	}
	if f, ok := boolOptions[name]; ok {
		*f(j), err = parseBool(val)
		return err
	}
	if t, ok := timeOptions[name]; ok {
		*t.f(j), err = parseTime(val, t.unit)
		return err
	}
	switch name {
	case "name":
		j.Name = val
	case "description":
		j.Description = val
	case "rw", "readwrite":
		return parseRW(j, val)
	case "bs", "blocksize":
		j.BS, err = parseBS(val)
	case "bsrange", "blocksize_range":
		lo, hi, _ := strings.Cut(val, "-")
		a, err1 := ParseSize(lo)
		b, err2 := ParseSize(hi)
		if err1 != nil || err2 != nil || a != b {
			return fmt.Errorf("only a range of one size (the bs); bssplit mixes sizes")
		}
		j.BS = a
	case "blockalign", "ba":
		j.BlockAlign, err = ParseSize(val)
	case "write_lat_log", "write_bw_log", "write_iops_log":
		prefix := val
		if prefix == "" || prefix == "1" {
			prefix = j.Name // fio's default: the job's name
		}
		switch name {
		case "write_lat_log":
			j.LatLog = prefix
		case "write_bw_log":
			j.BWLog = prefix
		default:
			j.IOPSLog = prefix
		}
	case "log_offset":
		j.LogOffset, err = parseBool(val)
	case "log_avg_msec":
		var ms int
		ms, err = strconv.Atoi(val)
		j.LogAvg = time.Duration(ms) * time.Millisecond
	case "norandommap":
		j.NoRandomMap, err = parseBool(val)
	case "randrepeat":
		j.RandRepeat, err = parseBool(val)
	case "percentile_list":
		j.Percentiles = nil
		for _, f := range strings.Split(val, ":") {
			q, perr := strconv.ParseFloat(f, 64)
			if perr != nil || q <= 0 || q > 100 {
				return fmt.Errorf("%q is not a percentile", f)
			}
			j.Percentiles = append(j.Percentiles, q)
		}
	case "wait_for":
		j.WaitFor = val
	case "continue_on_error":
		j.ContinueOn, err = parseContinue(val)
	case "verify_fatal":
		j.VerifyFatal, err = parseBool(val)
	case "exitall":
		j.ExitAll, err = parseBool(val)
	case "number_ios":
		j.NumberIOs, err = strconv.ParseInt(val, 10, 64)
	case "fallocate":
		switch val {
		case "none", "0":
			j.NoFallocate = true
		case "native", "posix", "1", "keep":
			j.NoFallocate = false
		default:
			return fmt.Errorf("want none, native or posix")
		}
	case "bssplit":
		if j.BSSplit, err = ParseBSSplit(val); err == nil {
			j.BS = 0
			for _, p := range j.BSSplit {
				j.BS = max(j.BS, p.Size)
			}
		}
	case "buffered":
		var b bool
		b, err = parseBool(val)
		j.Direct = !b
	case "filename":
		j.Filename = val
	case "directory":
		j.Directory = val
	case "rwmixread", "rwmixwrite":
		var n int
		if n, err = strconv.Atoi(val); err == nil && (n < 0 || n > 100) {
			return fmt.Errorf("%d is not a percentage", n)
		}
		j.RWMixRead = n
		if name == "rwmixwrite" {
			j.RWMixRead = 100 - n
		}
	case "rate", "rate_iops":
		target := &j.Rate
		if name == "rate_iops" {
			target = &j.RateIOPS
		}
		*target, err = parseRate(val)
	case "fsync", "fdatasync":
		full := name == "fsync"
		n, perr := strconv.Atoi(val)
		if perr != nil {
			return perr
		}
		if n > 0 && j.FsyncN > 0 && j.SyncFull != full {
			return fmt.Errorf("fsync and fdatasync both set: iobench runs one kind of sync per job")
		}
		if n > 0 || j.SyncFull == full {
			j.FsyncN, j.SyncFull = n, full
		}
	case "ioengine":
		if !localEngines[val] {
			return fmt.Errorf("%q is not one iobench compares with (the local-file engines: %s); --compare chooses the engines", val, strings.Join(slices.Sorted(maps.Keys(localEngines)), ", "))
		}
		j.IOEngine = val
	case "fixedbufs", "registerfiles", "sqthread_poll", "hipri":
		on, berr := parseBool(val)
		if berr != nil {
			return berr
		}
		if on {
			j.FioOptions = append(j.FioOptions, "--"+name)
		}
	case "random_distribution":
		j.ZipfTheta, j.Zones, err = parseDistribution(val)
	case "verify":
		return parseVerify(j, val)
	default:
		if ignoredOptions[name] {
			return nil
		}
		return errUnsupported
	}
	return err
}

// parseRW reads rw=: a pattern, with fio's ":N" offset modifier.
func parseRW(j *Job, val string) error {
	pat, mod, hasMod := strings.Cut(val, ":")
	switch pat {
	case "readwrite":
		pat = "rw"
	case "trim", "randtrim", "trimwrite", "randtrimwrite":
		return fmt.Errorf("iobench does not trim")
	}
	j.RW, j.SeqMod = RW(pat), 0
	if !j.RW.valid() {
		return fmt.Errorf("unknown rw %q (read, write, rw, readwrite, randread, randwrite, randrw)", val)
	}
	if !hasMod {
		return nil
	}
	var err error
	if j.RW.random() { // a count of I/Os before a new random offset
		if j.SeqMod, err = strconv.ParseInt(mod, 10, 64); err != nil || j.SeqMod < 0 {
			return fmt.Errorf("%q is not a count of I/Os", mod)
		}
		return nil
	}
	// A hole after every I/O, or with a minus a step back (backwards).
	back := strings.HasPrefix(mod, "-")
	if j.SeqMod, err = ParseSize(strings.TrimPrefix(mod, "-")); err != nil {
		return fmt.Errorf("%q is not an offset modifier (a size, or -size to go back)", mod)
	}
	if back {
		j.SeqMod = -j.SeqMod
	}
	return nil
}

// parseBS reads bs=: one size, or fio's "read,write" pair when both are
// the same (a pair of different sizes is refused by name).
func parseBS(val string) (int64, error) {
	r, w, pair := strings.Cut(val, ",")
	n, err := ParseSize(r)
	if err != nil || !pair || w == "" {
		return n, err
	}
	if m, err := ParseSize(w); err != nil || m != n {
		return 0, fmt.Errorf("a different block size for writes is not supported")
	}
	return n, nil
}

// parseRate reads rate= and rate_iops=: "R", "R,W", ",W" or "R,".
func parseRate(val string) ([2]int64, error) {
	var out [2]int64
	parts := strings.Split(val, ",")
	if len(parts) > 2 {
		return out, fmt.Errorf("a third (trim) rate is not supported")
	}
	for i, p := range parts {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		v, err := ParseSize(p)
		if err != nil {
			return out, err
		}
		out[i] = v
	}
	if len(parts) == 1 {
		out[1] = out[0]
	}
	return out, nil
}

// parseContinue reads continue_on_error: none, read, write, io (reads
// and writes), verify, all, or 0 and 1.
func parseContinue(val string) (map[string]bool, error) {
	kinds := map[string][]string{"none": nil, "0": nil, "read": {"read"}, "write": {"write"}, "io": {"read", "write"},
		"verify": {"verify"}, "all": {"read", "write", "verify"}, "1": {"read", "write", "verify"}}
	ks, ok := kinds[val]
	if !ok {
		return nil, fmt.Errorf("want none, read, write, io, verify or all")
	}
	m := map[string]bool{}
	for _, k := range ks {
		m[k] = true
	}
	return m, nil
}

// parseVerify reads verify=: the checksums iobench has (crc32c-intel is
// fio's other name for crc32c), or 0 for none.
func parseVerify(j *Job, val string) error {
	switch val {
	case "0", "", "null":
		j.Verify = ""
	case "crc32c-intel":
		j.Verify = "crc32c"
	default:
		if verifyHashes[val] == nil {
			return fmt.Errorf("iobench checks %s (crc32c-intel is crc32c)", strings.Join(slices.Sorted(maps.Keys(verifyHashes)), ", "))
		}
		j.Verify = val
	}
	return nil
}

// parseTime reads a duration as fio does: a bare number is in unit
// (seconds for runtime, microseconds for thinktime), or with a suffix
// (us, ms, s, m, h).
func parseTime(v string, unit time.Duration) (time.Duration, error) {
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		return time.Duration(n * float64(unit)), nil
	}
	return ParseDuration(v)
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on", "":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean (0 or 1)", v)
}

// parseDistribution parses random_distribution: "random", "zipf:THETA"
// or "zoned:P/S:P/S:...", where the last zone's span may be left out (the
// rest of the region).
func parseDistribution(v string) (float64, []Zone, error) {
	if v == "random" {
		return 0, nil, nil
	}
	if theta, ok := strings.CutPrefix(v, "zipf:"); ok {
		t, err := strconv.ParseFloat(theta, 64)
		if err != nil || t <= 0 {
			return 0, nil, fmt.Errorf("zipf:%s: THETA must be a number above 0", theta)
		}
		return t, nil, nil
	}
	spec, ok := strings.CutPrefix(v, "zoned:")
	if !ok || strings.Contains(spec, ",") {
		return 0, nil, fmt.Errorf("want random, zipf:THETA or zoned:PCT/SPAN:... (one for reads and writes alike)")
	}
	var zones []Zone
	pcts, spans := 0, 0
	parts := strings.Split(spec, ":")
	for i, part := range parts {
		p, sp, _ := strings.Cut(part, "/")
		pct, err1 := strconv.Atoi(p)
		span, err2 := strconv.Atoi(sp)
		if sp == "" && i == len(parts)-1 {
			span, err2 = 100-spans, nil
		}
		if err1 != nil || err2 != nil || pct < 0 || span <= 0 {
			return 0, nil, fmt.Errorf("zone %q is not PCT/SPAN", part)
		}
		pcts, spans = pcts+pct, spans+span
		zones = append(zones, Zone{pct, span})
	}
	if pcts != 100 || spans > 100 {
		return 0, nil, fmt.Errorf("the zones take %d%% of the I/Os over %d%% of the region: want 100%% of the I/Os, at most 100%% of the region", pcts, spans)
	}
	return 0, zones, nil
}
