package bench

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestJobFilesAsFio runs the job files of testdata/peer through iobench
// and through fio itself, side by side. A file fio accepts, iobench
// accepts, and the two agree in kind: the same jobs, each doing I/O in the
// same directions, and for a job bounded by bytes the same I/O count
// within 10%. "refused-" files both refuse; "iobench-refuses-" files fio
// accepts and iobench refuses by name (what it would run with another
// meaning). iobench used to accept 4 of fio's 107 examples, and ran some
// with another meaning.
func TestJobFilesAsFio(t *testing.T) {
	fioUsable(t)
	files, err := filepath.Glob("testdata/peer/*.fio")
	if err != nil || len(files) < 10 {
		t.Fatalf("%d job files: %v", len(files), err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			fioDir, goDir := t.TempDir(), t.TempDir()
			t.Setenv("JOBDIR", fioDir)
			fioAccepts := exec.Command("fio", "--parse-only", f).Run() == nil
			t.Setenv("JOBDIR", goDir)
			jobs, ibErr := readAndCheck(f)
			switch {
			case strings.HasPrefix(name, "refused-"):
				if fioAccepts || ibErr == nil {
					t.Fatalf("fio accepts: %v; iobench: %v; want both to refuse", fioAccepts, ibErr)
				}
				return
			case strings.HasPrefix(name, "iobench-refuses-"):
				if !fioAccepts || ibErr == nil {
					t.Fatalf("fio accepts: %v; iobench: %v; want fio to accept and iobench to refuse by name", fioAccepts, ibErr)
				}
				return
			case !fioAccepts || ibErr != nil:
				t.Fatalf("fio accepts: %v; iobench: %v; want both to accept", fioAccepts, ibErr)
			}
			t.Setenv("JOBDIR", fioDir)
			want := fioCounts(t, f, fioDir)
			engines := goEngines(t)
			rs, err := (&Runner{Engines: engines}).Run(jobs)
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != len(want) {
				t.Fatalf("iobench ran %d jobs, fio %d", len(rs), len(want))
			}
			for i, j := range jobs {
				w := want[j.Name]
				for _, got := range rs[i] {
					if (got.Read.Ops > 0) != (w[0] > 0) || (got.Write.Ops > 0) != (w[1] > 0) {
						t.Errorf("job %s on %s: %d reads, %d writes; fio %d, %d: not the same directions", j.Name, got.Engine, got.Read.Ops, got.Write.Ops, w[0], w[1])
					}
					if j.CloneBytes() == 0 {
						continue // bounded by time: the counts are the engines' speed
					}
					for d, n := range []int64{got.Read.Ops, got.Write.Ops} {
						if diff := float64(n - w[d]); diff > 0.1*float64(w[d]) || -diff > 0.1*float64(w[d]) {
							t.Errorf("job %s on %s: %d %s, fio %d", j.Name, got.Engine, n, []string{"reads", "writes"}[d], w[d])
						}
					}
				}
			}
		})
	}
}

// readAndCheck reads a job file as the command does: sizes from files,
// then each job checked.
func readAndCheck(path string) ([]Job, error) {
	jobs, err := ReadJobFile(path)
	if err != nil {
		return nil, err
	}
	for i := range jobs {
		if err := jobs[i].ResolveSize(); err != nil {
			return nil, err
		}
		if err := jobs[i].Validate(); err != nil {
			return nil, err
		}
	}
	return jobs, nil
}

// fioCounts runs fio on the job file in dir and returns each job's reads
// and writes, its clones added up.
func fioCounts(t *testing.T, path, dir string) map[string][2]int64 {
	t.Helper()
	abs, _ := filepath.Abs(path)
	cmd := exec.Command("fio", "--output-format=json", abs)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "JOBDIR="+dir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("fio %s: %v\n%s", path, err, out)
	}
	if i := strings.IndexByte(string(out), '{'); i > 0 {
		out = out[i:]
	}
	var doc struct {
		Jobs []struct {
			JobName string `json:"jobname"`
			Error   int    `json:"error"`
			Read    struct {
				TotalIOs int64 `json:"total_ios"`
			} `json:"read"`
			Write struct {
				TotalIOs int64 `json:"total_ios"`
			} `json:"write"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("fio's JSON: %v", err)
	}
	counts := map[string][2]int64{}
	for _, j := range doc.Jobs {
		if j.Error != 0 {
			t.Fatalf("fio: job %s: error %d", j.JobName, j.Error)
		}
		c := counts[j.JobName]
		c[0] += j.Read.TotalIOs
		c[1] += j.Write.TotalIOs
		counts[j.JobName] = c
	}
	return counts
}
