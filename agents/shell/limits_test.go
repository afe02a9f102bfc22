//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResourceLimits(t *testing.T) {
	c := launch(t)
	lim := map[string]any{"cpu_seconds": 7, "address_space_bytes": 1 << 30, "file_size_bytes": 1 << 20, "open_files": 64}
	res, _, err := run(t, c, map[string]any{"limits": lim}, map[string]string{"command": "cat /proc/self/limits"})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitStatus != 0 {
		t.Fatalf("result %+v", res)
	}
	got := map[string][]string{}
	for _, line := range strings.Split(res.Outputs["stdout"], "\n") {
		for _, name := range []string{"Max cpu time", "Max file size", "Max address space", "Max open files"} {
			if strings.HasPrefix(line, name) {
				got[name] = strings.Fields(strings.TrimPrefix(line, name))
			}
		}
	}
	for name, want := range map[string][]string{
		"Max cpu time":      {"7", "8"},
		"Max file size":     {"1048576", "1048576"},
		"Max address space": {"1073741824", "1073741824"},
		"Max open files":    {"64", "64"},
	} {
		if g := got[name]; len(g) < 2 || g[0] != want[0] || g[1] != want[1] {
			t.Errorf("%s: %v, want %v", name, g, want)
		}
	}

	// The limits are enforced: writing past the file size limit kills the
	// writer with SIGXFSZ (25).
	dir := t.TempDir()
	res, _, err = run(t, c, map[string]any{"workdir": dir, "limits": map[string]any{"file_size_bytes": 1 << 16}},
		map[string]string{"command": "exec head -c 1000000 /dev/zero > big"})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitStatus != 128+25 {
		t.Fatalf("file size limit: %+v", res)
	}
	if fi, err := os.Stat(filepath.Join(dir, "big")); err != nil || fi.Size() > 1<<16 {
		t.Fatalf("big: %v, %v", fi, err)
	}

	// A busy loop past its CPU seconds is killed by SIGXCPU (24).
	res, _, err = run(t, c, map[string]any{"limits": map[string]any{"cpu_seconds": 1}}, map[string]string{"command": "while :; do :; done"})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitStatus != 128+24 && res.ExitStatus != 128+9 {
		t.Fatalf("cpu limit: %+v", res)
	}
}
