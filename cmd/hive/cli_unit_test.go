package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hive-swarm/hive/node"
	"github.com/urfave/cli/v2"
)

// TestHelpOfEveryCommand walks the command tree: every command's help
// has a usage line and at least one example.
func TestHelpOfEveryCommand(t *testing.T) {
	var walk func(path []string, cmds []*cli.Command)
	walk = func(path []string, cmds []*cli.Command) {
		for _, c := range cmds {
			p := append(slices.Clone(path), c.Name)
			t.Run(strings.Join(p, " "), func(t *testing.T) {
				r := hive(t, "", append(p, "--help")...)
				if r.err != nil {
					t.Fatal(r.err)
				}
				if !strings.Contains(r.stdout, "USAGE:") || !strings.Contains(r.stdout, "EXAMPLES:") ||
					!strings.Contains(r.stdout, "  hive "+p[0]) {
					t.Fatalf("help lacks usage or examples:\n%s", r.stdout)
				}
			})
			walk(p, c.Subcommands)
		}
	}
	walk(nil, newApp(nil, nil, nil).Commands)

	r := hive(t, "", "--help")
	if r.err != nil || !strings.Contains(r.stdout, "EXAMPLES:") || !strings.Contains(r.stdout, "HIVE_ADDR") {
		t.Fatalf("hive --help: %+v", r)
	}
}

func TestPermuteArgs(t *testing.T) {
	app := newApp(nil, nil, nil).App
	for _, tc := range []struct{ in, want string }{
		{"wo show WO-1 -json", "-json wo show WO-1"},
		{"wo show -json WO-1", "-json wo show WO-1"},
		{"--address http://x wo list --state queued", "--address http://x wo list --state queued"},
		{"wo list --state queued --address=http://x", "--address=http://x wo list --state queued"},
		{"wo start WO-1 --agent shell --stale -json", "--stale -json wo start --agent shell WO-1"},
		{"wo dep add WO-1 WO-2 -json", "-json wo dep add WO-1 WO-2"},
		{"memory store ns k -- -5", "memory store -- ns k -5"},
		{"memory store ns k v --ttl 10m", "memory store --ttl 10m ns k v"},
		{"receipt export -o f.jsonl --to 3", "receipt export -o f.jsonl --to 3"},
		{"wo show WO-1 --help", "wo show --help WO-1"},
		{"wo list --bogus x", "wo list --bogus x"},
		{"agent -dev --log-level debug", "--log-level debug agent -dev"},
		{"status extra", "status extra"},
	} {
		got := strings.Join(permuteArgs(app, append([]string{"hive"}, strings.Fields(tc.in)...))[1:], " ")
		if got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		past bool
		want time.Time
	}{
		{"2026-01-02T03:04:05Z", false, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{"+24h", false, base.Add(24 * time.Hour)},
		{"24h", false, base.Add(24 * time.Hour)},
		{"1h", true, base.Add(-time.Hour)},
		{"-1h", true, base.Add(-time.Hour)},
		{"+1h", true, base.Add(time.Hour)},
	} {
		got, err := parseTime("t", tc.in, base, tc.past)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parseTime(%q, past=%v) = %v, %v; want %v", tc.in, tc.past, got, err, tc.want)
		}
	}
	if _, err := parseTime("t", "soon", base, false); errorCode(err) != "invalid_argument" {
		t.Errorf("parseTime(soon): %v", err)
	}
}

func TestMemoryValue(t *testing.T) {
	c := cli.NewContext(&cli.App{}, nil, nil)
	for in, want := range map[string]string{
		`42`:          `42`,
		`{"a": 1}`:    `{"a": 1}`,
		`hello world`: `"hello world"`,
		`"quoted"`:    `"quoted"`,
		`{broken`:     `"{broken"`,
		``:            `""`,
	} {
		got, err := memoryValue(c, in)
		if err != nil || string(got) != want {
			t.Errorf("memoryValue(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		500 * time.Millisecond:        "0s",
		45 * time.Second:              "45s",
		192 * time.Second:             "3m12s",
		125 * time.Minute:             "2h5m",
		(3*24 + 4) * time.Hour:        "3d4h",
		47*time.Hour + 59*time.Minute: "47h59m",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

// agentConfigFor runs `hive agent ARGS` with an action that only builds
// the node configuration.
func agentConfigFor(t *testing.T, args ...string) (node.Config, error) {
	t.Helper()
	var (
		cfg node.Config
		err error
	)
	app := newApp(nil, &bytes.Buffer{}, &bytes.Buffer{})
	for _, c := range app.Commands {
		if c.Name == "agent" {
			c.Action = func(c *cli.Context) error {
				if err := wantArgs(c, 0, 0); err != nil {
					return err
				}
				cfg, err = agentConfig(c)
				return nil
			}
		}
	}
	if runErr := app.Run(append([]string{"hive", "agent"}, args...)); runErr != nil {
		return cfg, runErr
	}
	return cfg, err
}

func TestAgentConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "agent.json")
	if err := os.WriteFile(file, []byte(`{"name": "from-file", "data_dir": "/file/dir", "http_port": 0,
		"join": ["10.0.0.1:7072"], "bootstrap_expect": 3, "dead_server_grace": "5m", "bind": "127.0.0.1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HIVE_RAFT_PORT", "9071")
	cfg, err := agentConfigFor(t, "--config", file, "--name", "from-flag", "--gossip-port", "9072")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Name != "from-flag" || cfg.DataDir != "/file/dir" || cfg.HTTPPort != 0 || cfg.RaftPort != 9071 ||
		cfg.GossipPort != 9072 || cfg.BootstrapExpect != 3 || cfg.DeadServerGrace != 5*time.Minute ||
		!slices.Equal(cfg.Join, []string{"10.0.0.1:7072"}) || cfg.BindAddr != "127.0.0.1" {
		t.Fatalf("config %+v", cfg)
	}

	cfg, err = agentConfigFor(t, "-dev")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Dev || cfg.BootstrapExpect != 1 || cfg.BindAddr != "127.0.0.1" || cfg.HTTPPort != 7070 {
		t.Fatalf("dev config %+v", cfg)
	}

	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"nmae": "typo"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--config", bad},
		{"--config", filepath.Join(dir, "missing.json")},
		{"--bind", "not-an-ip", "-dev"},
		{},                    // no data dir
		{"-dev", "stray-arg"}, // stray argument
	} {
		if _, err := agentConfigFor(t, args...); err == nil {
			t.Errorf("agent %v: accepted", args)
		}
	}
}
