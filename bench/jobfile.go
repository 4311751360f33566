package bench

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/ini.v1"
)

// ParseJobFile reads a fio job file: a [global] section of defaults and
// one section per job, in fio's option names. Options that would change
// what a job does and that iobench does not implement are an error, named,
// rather than silently ignored; options that change nothing here (fio's
// reporting, its own engine choice) are accepted.
func ParseJobFile(r io.Reader) ([]Job, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	// fio takes an inline comment after a tab as after a space; the INI
	// parser only after a space.
	data = bytes.ReplaceAll(bytes.ReplaceAll(data, []byte("\t;"), []byte(" ;")), []byte("\t#"), []byte(" #"))
	// Sections of one name are separate jobs, as fio runs them.
	f, err := ini.LoadSources(ini.LoadOptions{AllowBooleanKeys: true, Insensitive: true, AllowNonUniqueSections: true,
		IgnoreInlineComment: false, SpaceBeforeInlineComment: true}, data)
	if err != nil {
		return nil, fmt.Errorf("job file: %w", err)
	}
	// fio's defaults where they differ from the command line's: a job is
	// not time-based, and has no runtime limit.
	global := DefaultJob()
	global.Name, global.TimeBased, global.Runtime = "", false, 0
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
		switch {
		case j.TimeBased && j.Runtime == 0:
			return nil, fmt.Errorf("job file [%s]: time_based without a runtime would never end", name)
		case !j.TimeBased && j.TotalBytes == 0:
			j.TotalBytes = j.Size * int64(j.NumJobs) // one pass over its size per job, as fio
		}
		jobs = append(jobs, j)
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("job file: no job sections (only [global])")
	}
	return jobs, nil
}

// ignoredOptions change nothing in what iobench measures.
var ignoredOptions = map[string]bool{
	"group_reporting": true, "norandommap": true, "randrepeat": true,
	"thread": true, "invalidate": true, "percentile_list": true,
	"clat_percentiles": true, "slat_percentiles": true, "lat_percentiles": true,
	"disable_lat": true, "stonewall": true, "new_group": true, "description": true,
}

// localEngines are fio's engines that do I/O to local files the way one of
// iobench's engines does: a job file naming one is accepted (--compare
// still chooses what runs); any other (null, mmap, net, ...) is refused by
// name, since iobench would run real file I/O in its place.
var localEngines = map[string]bool{
	"io_uring": true, "libaio": true, "psync": true, "sync": true, "pvsync": true, "pvsync2": true, "posixaio": true,
}

func applyOptions(j *Job, s *ini.Section) error {
	var unsupported []string
	for _, k := range s.Keys() {
		name, val := strings.ToLower(k.Name()), strings.TrimSpace(k.Value())
		if err := applyOption(j, name, val); err == errUnsupported {
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

func applyOption(j *Job, name, val string) error {
	var err error
	switch name {
	case "rw", "readwrite":
		j.RW = RW(val)
		if !j.RW.valid() {
			return fmt.Errorf("unknown rw %q", val)
		}
	case "bs", "blocksize":
		j.BS, err = ParseSize(val)
	case "size":
		j.Size, err = ParseSize(val)
	case "io_size", "io_limit":
		j.TotalBytes, err = ParseSize(val)
	case "bssplit":
		if j.BSSplit, err = ParseBSSplit(val); err == nil {
			j.BS = 0
			for _, p := range j.BSSplit {
				j.BS = max(j.BS, p.Size)
			}
		}
	case "iodepth":
		j.IODepth, err = strconv.Atoi(val)
	case "numjobs":
		j.NumJobs, err = strconv.Atoi(val)
	case "runtime":
		j.Runtime, err = ParseDuration(val)
	case "ramp_time":
		j.Ramp, err = ParseDuration(val)
	case "direct":
		j.Direct, err = parseBool(val)
	case "time_based":
		j.TimeBased, err = parseBool(val)
	case "filename":
		j.Filename = val
	case "rwmixread":
		j.RWMixRead, err = strconv.Atoi(val)
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
			return fmt.Errorf("ioengine %q is not one iobench compares with (the local-file engines: %s); --compare chooses the engines", val, strings.Join(slices.Sorted(maps.Keys(localEngines)), ", "))
		}
	case "fixedbufs", "registerfiles", "sqthread_poll", "hipri":
		on, berr := parseBool(val)
		if berr != nil {
			return berr
		}
		if on {
			j.FioOptions = append(j.FioOptions, "--"+name)
		}
	case "random_distribution":
		j.ZipfTheta, err = parseDistribution(val)
	case "verify":
		j.Verify = val
		if val != "xxhash" && val != "0" && val != "" {
			return fmt.Errorf("only verify=xxhash is supported")
		}
		if val == "0" {
			j.Verify = ""
		}
	default:
		if ignoredOptions[name] {
			return nil
		}
		return errUnsupported
	}
	return err
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

// parseDistribution parses random_distribution: "random" or "zipf:THETA".
func parseDistribution(v string) (float64, error) {
	if v == "random" {
		return 0, nil
	}
	theta, ok := strings.CutPrefix(v, "zipf:")
	t, err := strconv.ParseFloat(theta, 64)
	if !ok || err != nil || t <= 0 {
		return 0, fmt.Errorf("want random or zipf:THETA with THETA > 0")
	}
	return t, nil
}
