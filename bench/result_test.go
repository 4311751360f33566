package bench

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nowaitio/nowait/aio"
)

// TestResultJSONRoundTrip: the JSON output (fio's schema) carries each
// result whole under "nowait", and decodes back into the same results.
func TestResultJSONRoundTrip(t *testing.T) {
	in := []Result{{
		Engine: "aio", Job: "randread", Ops: 1000, Bytes: 4096000, Elapsed: time.Second, IOPS: 1000, BWBytes: 4096000,
		Lat:  Percentiles{P50: 100, P90: 200, P99: 300, P999: 400, P9999: 500, Max: 600, Mean: 150.5, Count: 1000},
		Slat: Percentiles{P50: 1, Max: 9, Count: 20}, CPUUser: 0.5, CPUSys: 0.25, CPUPerIONs: 750,
		VerifyErrs: 1, VerifyFirst: "verify failed at offset 4096: x", Stats: &aio.Stats{Backend: "io_uring", FastReads: 7},
	}, {Engine: "psync", Job: "randread", IOPS: 500, Note: "a note"}}
	var buf bytes.Buffer
	if err := WriteFioJSON(&buf, []Job{DefaultJob()}, [][]Result{in}, false); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Jobs []struct {
			Nowait Result `json:"nowait"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	var out []Result
	for _, j := range doc.Jobs {
		out = append(out, j.Nowait)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip changed the results:\n%+v\n%+v", in, out)
	}
	for _, field := range []string{`"iops"`, `"lat_ns"`, `"slat_ns"`, `"cpu_ns_per_io"`, `"verify_errors"`, `"aio_stats"`} {
		if !strings.Contains(buf.String(), field) {
			t.Errorf("JSON lacks %s", field)
		}
	}
	var table bytes.Buffer
	if err := WriteTable(&table, in); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "0.50x") || !strings.Contains(table.String(), "psync: a note") {
		t.Fatalf("table:\n%s", table.String())
	}
}
