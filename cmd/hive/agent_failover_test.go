package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestAgentFailoverFlags checks the redistribution, run timeout and
// failure-detection settings of `hive agent`: defaults, the config file,
// and flags over the file.
func TestAgentFailoverFlags(t *testing.T) {
	cfg, err := agentConfigFor(t, "-dev")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RequeueGrace != time.Second || cfg.Execution.RunTimeout != time.Hour || cfg.Gossip.ProbeInterval != 500*time.Millisecond {
		t.Fatalf("defaults: grace %s, run timeout %s, probe %s", cfg.RequeueGrace, cfg.Execution.RunTimeout, cfg.Gossip.ProbeInterval)
	}
	file := filepath.Join(t.TempDir(), "agent.json")
	if err := os.WriteFile(file, []byte(`{"requeue_grace": "30s", "run_timeout": "10m"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err = agentConfigFor(t, "-dev", "--config", file, "--run-timeout", "2m",
		"--gossip-probe-interval", "200ms", "--gossip-probe-timeout", "150ms", "--gossip-suspicion-mult", "3")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RequeueGrace != 30*time.Second || cfg.Execution.RunTimeout != 2*time.Minute || cfg.Gossip.ProbeInterval != 200*time.Millisecond ||
		cfg.Gossip.ProbeTimeout != 150*time.Millisecond || cfg.Gossip.SuspicionMult != 3 {
		t.Fatalf("config %+v", cfg)
	}
	for _, args := range [][]string{
		{"-dev", "--requeue-grace", "-1s"},
		{"-dev", "--run-timeout", "-1s"},
	} {
		if _, err := agentConfigFor(t, args...); err == nil {
			t.Errorf("agent %v: accepted", args)
		}
	}
}
