package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hive-swarm/hive/node"
)

// readArchive returns the files of a tar.gz by name (without the
// hive-debug/ prefix).
func readArchive(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatalf("reading the tar: %v", err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimPrefix(hdr.Name, "hive-debug/")] = b
	}
}

func TestDebugArchiveHoldsTheNodeState(t *testing.T) {
	addr := nodeAddr(t)
	wo := createWO(t, addr, "--title", "debugged")
	out := filepath.Join(t.TempDir(), "d.tar.gz")
	if s := ok(t, addr, "debug", "-o", out); !strings.Contains(s, "Wrote "+out) || !strings.Contains(s, "goroutines.txt (profiles need hive agent --enable-debug)") {
		t.Fatalf("debug printed %q", s)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	files := readArchive(t, data)
	for _, name := range []string{"manifest.json", "status.json", "health.json", "metrics-summary.json", "metrics.prom", "members.json", "scheduler.json", "andons.json", "receipts-verify.json", "events.ndjson", "logs.txt"} {
		if len(files[name]) == 0 {
			t.Fatalf("archive lacks %s; has %v", name, keys(files))
		}
	}
	if _, has := files["heap.pprof"]; has {
		t.Fatal("heap profile from a node without --enable-debug")
	}
	var m debugManifest
	if err := json.Unmarshal(files["manifest.json"], &m); err != nil || m.Node != "cli-test" || len(m.Files) != len(debugSources())+1 {
		t.Fatalf("manifest %+v: %v", m, err)
	}
	if !strings.Contains(string(files["events.ndjson"]), `"workorder":"`+wo.ID+`"`) || !strings.Contains(string(files["metrics.prom"]), "hive_workorders") {
		t.Fatalf("events:\n%s", files["events.ndjson"])
	}
	if !strings.Contains(string(files["logs.txt"]), "[INFO] cli-test: node started") {
		t.Fatalf("logs:\n%s", files["logs.txt"])
	}
	// -o -: the archive on stdout.
	r := hive(t, addr, "debug", "-o", "-", "--events", "0")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if files := readArchive(t, []byte(r.stdout)); len(files["status.json"]) == 0 || files["events.ndjson"] != nil {
		t.Fatalf("stdout archive has %v", keys(files))
	}
	fails(t, addr, "invalid_argument", "debug", "--events", "-1")
}

func TestDebugArchiveHoldsProfiles(t *testing.T) {
	addr := ownNode(t, "debug-test", func(c *node.Config) { c.EnableDebug = true })
	r := hive(t, addr, "debug", "-o", "-", "--events", "10")
	if r.err != nil {
		t.Fatal(r.err)
	}
	files := readArchive(t, []byte(r.stdout))
	if !strings.Contains(string(files["goroutines.txt"]), "goroutine ") || len(files["heap.pprof"]) == 0 {
		t.Fatalf("archive has %v", keys(files))
	}
}

func keys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
