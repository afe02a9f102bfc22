package node

import (
	"path/filepath"
	"testing"
)

// TestPluginTempDir checks where the agent plugins keep their sockets:
// in the system's temporary directory while it exists, and in
// DATA_DIR/tmp where it does not (a FROM scratch image).
func TestPluginTempDir(t *testing.T) {
	data := t.TempDir()
	cfg := Config{DataDir: data}
	if got := cfg.pluginConfig().TempDir; got != "" {
		t.Fatalf("with a system temporary directory, plugins' TempDir = %q, want the system's", got)
	}
	t.Setenv("TMPDIR", filepath.Join(data, "missing"))
	if got, want := cfg.pluginConfig().TempDir, filepath.Join(data, "tmp"); got != want {
		t.Fatalf("without a system temporary directory, plugins' TempDir = %q, want %q", got, want)
	}
	if got := (&Config{Dev: true}).pluginConfig().TempDir; got != "" {
		t.Fatalf("a dev node without a data dir: plugins' TempDir = %q, want none", got)
	}
}
