package bench

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The headline jobs as Go benchmarks: go test -run '^$' -bench . ./bench
// prints, per job and engine, iops and cpu-ns/op (user+system CPU per I/O)
// in benchstat's format. Each benchmark runs its job once for
// NOWAIT_BENCH_RUNTIME (default 5s) on a file in the temp directory
// (NOWAIT_BENCH_DIR to choose another). bench/headline.sh runs the same
// jobs through iobench, with fio and repeats, for docs/benchmarks.md.

// HeadlineJobs are the jobs of docs/benchmarks.md's table.
func HeadlineJobs() []Job {
	j := func(name string, rw RW, bs int64, qd int, prealloc bool) Job {
		job := DefaultJob()
		job.Name, job.RW, job.BS, job.IODepth, job.Prealloc = name, rw, bs, qd, prealloc
		if rw == Append {
			job.Size = 16 << 30
		}
		if prealloc {
			job.Size = 256 << 20
		}
		return job
	}
	wal := j("wal-4k-append-fdatasync-qd1", Append, 4096, 1, false)
	wal.Size, wal.FsyncN = 1<<30, 1 // a 4 KiB append and an fdatasync, one at a time
	return []Job{
		j("randread-4k-qd1", RandRead, 4096, 1, false),
		j("randread-4k-qd32", RandRead, 4096, 32, false),
		j("randread-4k-qd64", RandRead, 4096, 64, false),
		j("randwrite-4k-qd32", RandWrite, 4096, 32, false),
		j("append-4k-qd16", Append, 4096, 16, false),
		wal,
		j("randwrite-512-qd16-prealloc", RandWrite, 512, 16, true),
	}
}

func BenchmarkHeadline(b *testing.B) {
	runtime := 5 * time.Second
	if v := os.Getenv("NOWAIT_BENCH_RUNTIME"); v != "" {
		d, err := ParseDuration(v)
		if err != nil {
			b.Fatal(err)
		}
		runtime = d
	}
	dir := os.Getenv("NOWAIT_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	for _, job := range HeadlineJobs() {
		job.Runtime = runtime
		job.Filename = filepath.Join(dir, "headline-"+string(job.RW)+".dat")
		for _, e := range []Engine{AIOEngine{}, PsyncEngine{}, RingEngine{}} {
			b.Run(job.Name+"/"+e.Name(), func(b *testing.B) {
				b.ResetTimer()
				rs, err := runOn(job, e)
				if err != nil {
					b.Fatal(err)
				}
				r := rs[0]
				b.StopTimer()
				b.ReportMetric(r.IOPS, "iops")
				b.ReportMetric(r.CPUPerIONs, "cpu-ns/op")
				b.ReportMetric(float64(r.Slat.Max)/1000, "slat-max-us")
			})
		}
	}
}
