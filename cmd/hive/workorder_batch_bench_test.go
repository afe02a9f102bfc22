package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchDispatchBatch runs a small `hive bench dispatch --batch` on a
// real three-node cluster with the real test agent: every work order is
// created in batches (the last one short), run and counted once, and the
// output says which mode ran.
func TestBenchDispatchBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster and plugin processes")
	}
	dir := filepath.Dir(buildTestAgent(t))
	var res struct {
		Completed  int    `json:"completed"`
		Failed     int    `json:"failed"`
		WorkOrders int    `json:"workorders"`
		Batch      int    `json:"batch"`
		Mode       string `json:"mode"`
	}
	// --gogc 0 leaves this test process's GC settings alone.
	decode(t, benchRun(t, "bench", "dispatch", "-n", "300", "--batch", "32", "-c", "4", "--capacity", "8",
		"--window", "64", "--gogc", "0", "--plugin-dir", dir, "-json"), &res)
	if res.Completed != 300 || res.Failed != 0 || res.Batch != 32 || res.Mode != "batch creates of 32 (POST /v1/workorders/batch)" {
		t.Fatalf("result %+v", res)
	}
	table := benchRun(t, "bench", "dispatch", "-n", "40", "--batch", "16", "-c", "2", "--capacity", "4",
		"--window", "16", "--gogc", "0", "--plugin-dir", dir)
	mustContain(t, "bench table", table, "mode        batch creates of 16", "completed   40 (0 failed")
	fails(t, "", "invalid_argument", "bench", "dispatch", "--batch", "65", "--window", "64", "--plugin-dir", dir)
	fails(t, "", "invalid_argument", "bench", "dispatch", "--batch", "1001", "--window", "4096", "--plugin-dir", dir)
}

// benchRun runs a bench command line in-process and returns its stdout,
// failing the test unless it succeeds (the nodes may log to stderr).
func benchRun(t *testing.T, args ...string) string {
	t.Helper()
	r := hive(t, "", args...)
	if r.err != nil {
		t.Fatalf("hive %s: %v\nstderr: %s", strings.Join(args, " "), r.err, r.stderr)
	}
	return r.stdout
}
