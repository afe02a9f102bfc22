package plugins

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDiscover(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("hive-agent-shell", 0o755)
	write("hive-agent-build_2", 0o755)
	write("hive-agent-notexec", 0o644)
	write("hive-agent-Bad", 0o755)
	write("hive-agent-", 0o755)
	write("other", 0o755)
	if err := os.Mkdir(filepath.Join(dir, "hive-agent-dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "hive-agent-shell"), filepath.Join(dir, "hive-agent-link")); err != nil {
		t.Fatal(err)
	}
	found, err := Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"build_2", "link", "shell"}
	if len(found) != len(want) {
		t.Fatalf("found %v, want %v", found, want)
	}
	for _, typ := range want {
		if p := found[typ]; p != filepath.Join(dir, "hive-agent-"+typ) {
			t.Errorf("%s: %q", typ, p)
		}
	}
	if _, err := Discover(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("a missing directory is no error")
	}
}

func TestConfigResolve(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hive-agent-shell"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.PluginDir = dir
	cfg.Agents["shell"] = AgentConfig{Capacity: 2}
	cfg.Agents["own"] = AgentConfig{Path: "/opt/own"}
	m, err := NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if a := m.sups["shell"].agent; a.Path != filepath.Join(dir, "hive-agent-shell") || a.Capacity != 2 {
		t.Fatalf("shell: %+v", a)
	}
	if got := strings.Join(m.Types(), ","); got != "own,shell" {
		t.Fatalf("types %s", got)
	}

	cfg.Agents["missing"] = AgentConfig{}
	if _, err := NewManager(cfg); err == nil || !strings.Contains(err.Error(), "hive-agent-missing") {
		t.Fatalf("a type without a binary: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for name, mutate := range map[string]func(*Config){
		"bad type name":     func(c *Config) { c.Agents["Shell"] = AgentConfig{Path: "/x"} },
		"reserved type":     func(c *Config) { c.Agents["hive.x"] = AgentConfig{Path: "/x"} },
		"negative capacity": func(c *Config) { c.Agents["a"] = AgentConfig{Path: "/x", Capacity: -1} },
		"config not json":   func(c *Config) { c.Agents["a"] = AgentConfig{Path: "/x", Config: []byte("{")} },
		"max below initial": func(c *Config) { c.Backoff.Initial, c.Backoff.Max = time.Second, time.Millisecond },
		"jitter":            func(c *Config) { c.Backoff.Jitter = 1 },
	} {
		cfg := DefaultConfig()
		mutate(&cfg)
		if err := cfg.Validate(); err == nil {
			t.Errorf("%s: valid", name)
		}
	}
	cfg := DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestJitter(t *testing.T) {
	for range 1000 {
		if d := jitter(time.Second, 0.2); d < 800*time.Millisecond || d > 1200*time.Millisecond {
			t.Fatalf("jitter %s", d)
		}
	}
	if jitter(time.Second, 0) != time.Second {
		t.Fatal("no jitter changed the delay")
	}
}
