package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hive-swarm/hive/node"
	"github.com/hive-swarm/hive/plugins"
	"github.com/urfave/cli/v2"
)

// leaveTimeout bounds a graceful leave after the first signal.
const leaveTimeout = 30 * time.Second

// agentFlags are the flags of `hive agent`; each reads HIVE_<NAME>.
func agentFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "config", Category: catNode, EnvVars: env("config"),
			Usage: "JSON `FILE` with the settings below (flags and env override it)"},
		&cli.BoolFlag{Name: "dev", Category: catNode, EnvVars: env("dev"),
			Usage: "one node in a temporary data dir, bootstrapped alone, HTTP on 127.0.0.1:7070"},
		&cli.StringFlag{Name: "name", Category: catNode, EnvVars: env("name"),
			Usage: "unique node `NAME` (default: host name)"},
		&cli.StringFlag{Name: "data-dir", Category: catNode, EnvVars: env("data-dir"),
			Usage: "`DIR` for the raft log, stable store and snapshots"},
		&cli.StringFlag{Name: "plugin-dir", Category: catNode, EnvVars: env("plugin-dir"),
			Usage: "`DIR` of agent plugin binaries: hive-agent-<type> runs agent type <type> (default with -dev: the hive binary's directory)"},
		&cli.IntFlag{Name: "agent-capacity", Category: catNode, EnvVars: env("agent-capacity"),
			Usage: "`N` tasks at once per agent type unless its plugin or --config says otherwise (default 4)"},
		&cli.StringFlag{Name: "bind", Category: catNode, EnvVars: env("bind"),
			Usage: "`IP` to listen on for HTTP, raft and gossip (default 0.0.0.0; 127.0.0.1 with -dev)"},
		&cli.StringFlag{Name: "advertise", Category: catNode, EnvVars: env("advertise"),
			Usage: "`IP` other nodes reach this one at (default: first private IP, or --bind)"},
		&cli.IntFlag{Name: "http-port", Category: catNode, EnvVars: env("http-port"),
			Usage: "HTTP API `PORT` (default 7070; 0 picks a free one)"},
		&cli.IntFlag{Name: "raft-port", Category: catNode, EnvVars: env("raft-port"),
			Usage: "raft `PORT` (default 7071)"},
		&cli.IntFlag{Name: "gossip-port", Category: catNode, EnvVars: env("gossip-port"),
			Usage: "gossip `PORT`, TCP and UDP (default 7072)"},
		&cli.StringSliceFlag{Name: "join", Category: catCluster, EnvVars: env("join"),
			Usage: "gossip `HOST:PORT` of a member to join (repeatable)"},
		&cli.IntFlag{Name: "bootstrap-expect", Category: catCluster, EnvVars: env("bootstrap-expect"),
			Usage: "bootstrap raft once `N` servers see each other (1: alone)"},
		&cli.DurationFlag{Name: "dead-server-grace", Category: catCluster, EnvVars: env("dead-server-grace"),
			Usage: "remove a failed node from the voters after `DURATION` (default 2m)"},
		&cli.DurationFlag{Name: "requeue-grace", Category: catCluster, EnvVars: env("requeue-grace"),
			Usage: "requeue the running work of a node gossip declared dead or departed after `DURATION` (default 1s)"},
		&cli.DurationFlag{Name: "run-timeout", Category: catNode, EnvVars: env("run-timeout"),
			Usage: "cancel a work order's run after `DURATION` and report it failed (retryable) (default 1h)"},
		&cli.DurationFlag{Name: "gossip-probe-interval", Category: catCluster, EnvVars: env("gossip-probe-interval"),
			Usage: "failure detection: probe a random member every `DURATION` (default 500ms)"},
		&cli.DurationFlag{Name: "gossip-probe-timeout", Category: catCluster, EnvVars: env("gossip-probe-timeout"),
			Usage: "failure detection: a probe not answered in `DURATION` fails (default 250ms)"},
		&cli.IntFlag{Name: "gossip-suspicion-mult", Category: catCluster, EnvVars: env("gossip-suspicion-mult"),
			Usage: "failure detection: a suspect is declared dead after `N` probe intervals (scaled by cluster size) (default 4)"},
		&cli.IntFlag{Name: "gogc", Category: catNode, Value: defaultGOGC,
			Usage: "Go's GC percent for the node and its plugin processes, unless GOGC is set in the environment; 0 keeps Go's default (100). Higher trades memory for CPU"},
		&cli.BoolFlag{Name: "enable-debug", Category: catNode, EnvVars: env("enable-debug"),
			Usage: "serve Go's profiler under /debug/pprof/ on the HTTP API"},
	}
}

// agentFile is the --config file; its fields mirror the flags.
type agentFile struct {
	Name            string   `json:"name"`
	DataDir         string   `json:"data_dir"`
	PluginDir       string   `json:"plugin_dir"`
	Bind            string   `json:"bind"`
	Advertise       string   `json:"advertise"`
	HTTPPort        *int     `json:"http_port"`
	RaftPort        *int     `json:"raft_port"`
	GossipPort      *int     `json:"gossip_port"`
	Join            []string `json:"join"`
	BootstrapExpect int      `json:"bootstrap_expect"`
	Dev             bool     `json:"dev"`
	DeadServerGrace string   `json:"dead_server_grace"`
	LogLevel        string   `json:"log_level"`
	EnableDebug     bool     `json:"enable_debug"`
	AgentCapacity   int      `json:"agent_capacity"`
	RequeueGrace    string   `json:"requeue_grace"`
	RunTimeout      string   `json:"run_timeout"`
	// Agents configures agent types by name.
	Agents map[string]agentFileAgent `json:"agents"`
}

// agentFileAgent configures one agent type in the --config file.
type agentFileAgent struct {
	Path     string          `json:"path"`     // the plugin binary; default hive-agent-<type> in the plugin dir
	Args     []string        `json:"args"`     // its arguments
	Env      []string        `json:"env"`      // added to its environment
	Config   json.RawMessage `json:"config"`   // sent with every task of the type
	Capacity int             `json:"capacity"` // tasks at once; default the plugin's limit or agent_capacity
}

func agentCommand() *cli.Command {
	return &cli.Command{
		Name:      "agent",
		Usage:     "run a Hive node",
		UsageText: "hive agent [-dev | --data-dir DIR] [options]",
		Description: description(`Runs one node of the swarm in the foreground: raft, gossip and the HTTP API.
The first SIGINT or SIGTERM makes it leave the swarm gracefully and exit 0; a
second one makes it exit at once with status 1, without waiting for the node
to stop. Settings come from, in increasing order of
precedence: defaults, --config FILE (JSON, fields named like the flags with
underscores: {"data_dir": "/var/lib/hive", "join": ["10.0.0.5:7072"]}), HIVE_*
environment variables, flags.`,
			"hive agent -dev",
			"hive agent --name n1 --data-dir /var/lib/hive --bind 10.0.0.5 --bootstrap-expect 3 \\\n      --join 10.0.0.6:7072 --join 10.0.0.7:7072",
			"HIVE_DATA_DIR=/var/lib/hive HIVE_BOOTSTRAP_EXPECT=1 hive agent",
			"hive agent --config /etc/hive/agent.json --log-level debug"),
		Flags:  agentFlags(),
		Action: agentRun,
	}
}

// agentConfig builds the node configuration: defaults, then the file,
// then flags and environment.
func agentConfig(c *cli.Context) (node.Config, error) {
	cfg := node.DefaultConfig()
	var file agentFile
	if path := c.String("config"); path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return cfg, invalidf("--config: %v", err)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&file); err != nil {
			return cfg, invalidf("--config %s: %v", path, err)
		}
	}
	str := func(flag, fromFile string) string {
		if c.IsSet(flag) {
			return c.String(flag)
		}
		return fromFile
	}
	port := func(flag string, fromFile *int, def int) int {
		switch {
		case c.IsSet(flag):
			return c.Int(flag)
		case fromFile != nil:
			return *fromFile
		}
		return def
	}

	cfg.Dev = file.Dev || c.Bool("dev")
	if n := str("name", file.Name); n != "" {
		cfg.Name = n
	} else if cfg.Dev {
		cfg.Name = "dev"
	}
	cfg.DataDir = str("data-dir", file.DataDir)
	cfg.PluginDir = str("plugin-dir", file.PluginDir)
	if cfg.PluginDir == "" && cfg.Dev {
		// -dev runs the built-in agents that `make build` puts beside hive.
		if exe, err := os.Executable(); err == nil {
			cfg.PluginDir = filepath.Dir(exe)
		}
	}
	cfg.AgentCapacity = file.AgentCapacity
	if c.IsSet("agent-capacity") {
		cfg.AgentCapacity = c.Int("agent-capacity")
	}
	if len(file.Agents) > 0 {
		cfg.Agents = make(map[string]plugins.AgentConfig, len(file.Agents))
		for typ, a := range file.Agents {
			cfg.Agents[typ] = plugins.AgentConfig{Path: a.Path, Args: a.Args, Env: a.Env, Config: a.Config, Capacity: a.Capacity}
		}
	}
	if b := str("bind", file.Bind); b != "" {
		cfg.BindAddr = b
	} else if cfg.Dev {
		cfg.BindAddr = "127.0.0.1"
	}
	cfg.AdvertiseAddr = str("advertise", file.Advertise)
	cfg.HTTPPort = port("http-port", file.HTTPPort, cfg.HTTPPort)
	cfg.RaftPort = port("raft-port", file.RaftPort, cfg.RaftPort)
	cfg.GossipPort = port("gossip-port", file.GossipPort, cfg.GossipPort)
	cfg.Join = file.Join
	if c.IsSet("join") {
		cfg.Join = c.StringSlice("join")
	}
	cfg.BootstrapExpect = file.BootstrapExpect
	if c.IsSet("bootstrap-expect") {
		cfg.BootstrapExpect = c.Int("bootstrap-expect")
	}
	if cfg.Dev && cfg.BootstrapExpect == 0 {
		cfg.BootstrapExpect = 1
	}
	if file.DeadServerGrace != "" {
		d, err := time.ParseDuration(file.DeadServerGrace)
		if err != nil {
			return cfg, invalidf("--config: dead_server_grace: %v", err)
		}
		cfg.DeadServerGrace = d
	}
	if c.IsSet("dead-server-grace") {
		cfg.DeadServerGrace = c.Duration("dead-server-grace")
	}
	for _, d := range []struct {
		flag, file string
		dst        *time.Duration
	}{
		{"requeue-grace", file.RequeueGrace, &cfg.RequeueGrace},
		{"run-timeout", file.RunTimeout, &cfg.Execution.RunTimeout},
	} {
		if d.file != "" {
			v, err := time.ParseDuration(d.file)
			if err != nil {
				return cfg, invalidf("--config: %s: %v", strings.ReplaceAll(d.flag, "-", "_"), err)
			}
			*d.dst = v
		}
		if c.IsSet(d.flag) {
			*d.dst = c.Duration(d.flag)
		}
	}
	if c.IsSet("gossip-probe-interval") {
		cfg.Gossip.ProbeInterval = c.Duration("gossip-probe-interval")
	}
	if c.IsSet("gossip-probe-timeout") {
		cfg.Gossip.ProbeTimeout = c.Duration("gossip-probe-timeout")
	}
	if c.IsSet("gossip-suspicion-mult") {
		cfg.Gossip.SuspicionMult = c.Int("gossip-suspicion-mult")
	}
	cfg.EnableDebug = file.EnableDebug || c.Bool("enable-debug")
	level := c.String(flagLogLevel)
	if !c.IsSet(flagLogLevel) && file.LogLevel != "" {
		level = file.LogLevel
	}
	if _, err := parseLevel(level); err != nil {
		return cfg, err
	}
	cfg.Logger = hclog.New(&hclog.LoggerOptions{
		Name:   "hive",
		Level:  hclog.LevelFromString(level),
		Output: c.App.ErrWriter,
	})

	if err := cfg.Validate(); err != nil {
		return cfg, invalidf("%s", strings.TrimPrefix(err.Error(), "node: "))
	}
	return cfg, nil
}

func agentRun(c *cli.Context) error {
	if err := wantArgs(c, 0, 0); err != nil {
		return err
	}
	cfg, err := agentConfig(c)
	if err != nil {
		return err
	}
	gogc, err := applyGOGC(c.Int("gogc"))
	if err != nil {
		return err
	}
	cfg.Logger.Debug("garbage collector", "gogc", gogc)

	// Signals are watched from the start, so that one arriving during
	// start-up still ends the node cleanly.
	sigs := make(chan os.Signal, 2)
	rt := runtimeOf(c)
	stop := rt.notify(sigs)
	defer stop()

	n, err := node.New(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(c.Context)
	defer cancel()
	errw := c.App.ErrWriter
	started := make(chan error, 1)
	go func() { started <- n.Start(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			return fmt.Errorf("starting the node: %w", err)
		}
	case sig := <-sigs:
		cancel()
		fmt.Fprintf(errw, "Caught %s during start-up; shutting down (again to force)\n", sig)
		return untilForced(rt, errw, sigs, func() error {
			<-started
			return shutdown(n)
		})
	}
	printBanner(c, cfg, n)

	sig := <-sigs
	fmt.Fprintf(errw, "Caught %s; leaving the swarm gracefully (again to force)\n", sig)
	return untilForced(rt, errw, sigs, func() error {
		lctx, lcancel := context.WithTimeout(context.Background(), leaveTimeout)
		defer lcancel()
		if err := rt.leave(lctx, n); err != nil {
			fmt.Fprintf(errw, "Graceful leave failed: %v; shutting down\n", err)
			if serr := shutdown(n); serr != nil {
				return serr
			}
			return &cliError{code: "leave_failed", msg: err.Error()}
		}
		fmt.Fprintln(errw, "Left the swarm")
		return shutdown(n)
	})
}

// untilForced runs a graceful stop and returns its result, unless another
// signal arrives first: then it says so and returns an error at once,
// leaving the stop running (the process is about to exit; the data on
// disk is as safe as after a crash, which raft recovers from). rt.stopping
// tracks the stop.
func untilForced(rt *runtime, errw io.Writer, sigs <-chan os.Signal, graceful func() error) error {
	done := make(chan error, 1)
	rt.stopping.Add(1)
	go func() {
		defer rt.stopping.Done()
		done <- graceful()
	}()
	select {
	case err := <-done:
		return err
	case sig := <-sigs:
		fmt.Fprintf(errw, "Caught %s again; exiting now without waiting for the node to stop\n", sig)
		return &cliError{code: "interrupted", msg: fmt.Sprintf("forced exit on a second %s", sig)}
	}
}

// shutdown stops n without leaving, waiting at most leaveTimeout.
func shutdown(n *node.Node) error {
	ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
	defer cancel()
	return n.Shutdown(ctx)
}

func printBanner(c *cli.Context, cfg node.Config, n *node.Node) {
	w := c.App.Writer
	mode := "server"
	if cfg.Dev {
		mode = "dev (one node, temporary data; nothing survives exit)"
	}
	fmt.Fprintln(w, "==> Hive agent running")
	f := newFields(w)
	f.add("  Name", cfg.Name)
	f.add("  Mode", mode)
	f.add("  HTTP", "http://"+n.HTTPAddr())
	f.add("  Raft", n.RaftAddr())
	f.add("  Gossip", n.GossipAddr())
	f.add("  Data dir", n.DataDir())
	if types := n.Plugins().Types(); len(types) > 0 {
		f.add("  Agents", strings.Join(types, ", "))
	} else {
		f.add("  Agents", "none (no --plugin-dir)")
	}
	if cfg.BootstrapExpect > 0 {
		f.add("  Bootstrap", fmt.Sprintf("expects %d server(s)", cfg.BootstrapExpect))
	}
	if len(cfg.Join) > 0 {
		f.add("  Join", strings.Join(cfg.Join, ", "))
	}
	_ = f.flush()
	fmt.Fprintln(w, "==> Logs follow on stderr; Ctrl-C leaves gracefully")
}
