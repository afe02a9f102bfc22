package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/urfave/cli/v2"

	"github.com/hive-swarm/hive/bench"
)

// Timings of the bench's own housekeeping.
const (
	benchStartupTimeout = 60 * time.Second // for a cluster to elect a leader
	benchStopGrace      = 10 * time.Second // SIGTERM to SIGKILL for local agents
	benchMaxErrorRate   = 0.01             // above this the bench exits non-zero
)

// benchAgentCommand names the program a local bench cluster runs as
// `PROGRAM PREFIX… agent …`: this very binary. Tests replace it.
var benchAgentCommand = func() (exe string, prefix []string, err error) {
	exe, err = os.Executable()
	return exe, nil, err
}

// benchCommand is `hive bench`.
func benchCommand() *cli.Command {
	return &cli.Command{
		Name:  "bench",
		Usage: "Measure a cluster's write throughput and latency",
		Description: description(`Benchmarks drive a cluster over its HTTP API and print what it committed per
second with latency percentiles. They write work orders: point them only at a
cluster you can throw away, or let them start one of their own.`,
			"hive bench create --baseline -c 1,64,256 --duration 5s",
			"hive bench create --address http://10.0.0.5:7070 -c 64 -n 20000"),
		UsageText:   "hive bench create [options]",
		Subcommands: []*cli.Command{benchCreateCommand(), benchDispatchCommand(), benchFailoverCommand(), benchStreamCommand(), benchSubscribeCommand()},
	}
}

func benchCreateCommand() *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "Create work orders from concurrent clients; print creates/s and p50/p95/p99 latency",
		UsageText: "hive bench create [--address URL[,URL…] | --local N] [-c N[,N…]] [-n N] [--duration D] [--warmup D] [--baseline] [--leader-only] [-json]",
		Description: description(`Each of C clients POSTs /v1/workorders in a closed loop, spread round-robin
over the addresses (followers forward to the leader), or all to the leader
with --leader-only; only 201 answers count as committed. The run ends after
-n measured requests or --duration, whichever comes first. Without --address
(or HIVE_ADDR) the bench starts a throwaway cluster of --local nodes as child
processes of this binary on 127.0.0.1 and removes it afterwards
(--node-pprof serves their profilers). --baseline first runs bare
hashicorp/raft with as many nodes in this process, set up by Hive's own code
(raft config, stores, transport) and with one proposal per log entry, and
prints Hive's figures as a ratio of it. With a list of clients (-c 1,64,256)
every point is measured; the baseline runs all its points before Hive
starts, so the two never share the CPU.
Exits 1 if more than 1% of the requests of any point fail.`,
			"hive bench create",
			"hive bench create --baseline -c 1,64,256 -n 5000",
			"hive bench create --address http://10.0.0.1:7070,http://10.0.0.2:7070 -c 256 --duration 30s -json"),
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "local", Value: 3, Usage: "without --address: start a throwaway cluster of `N` nodes"},
			&cli.StringFlag{Name: "clients", Aliases: []string{"c"}, Value: "64", Usage: "concurrent clients, or a comma-separated sweep such as 1,64,256"},
			&cli.IntFlag{Name: "requests", Aliases: []string{"n"}, Value: 20000, Usage: "measured requests per point (if only --duration is given, it alone bounds the run)"},
			&cli.DurationFlag{Name: "duration", Usage: "measured time per point"},
			&cli.DurationFlag{Name: "warmup", Value: time.Second, Usage: "requests started in this first stretch of each point are not measured"},
			&cli.BoolFlag{Name: "baseline", Usage: "also measure bare hashicorp/raft at each point and print Hive/raft ratios"},
			&cli.IntFlag{Name: "entry-size", Value: bench.DefaultEntrySize, Usage: "`BYTES` per baseline log entry (about an encoded create command)"},
			&cli.DurationFlag{Name: "timeout", Value: 10 * time.Second, Usage: "timeout of one request"},
			&cli.BoolFlag{Name: "leader-only", Usage: "send every request to the leader, as a leader-aware client would (the baseline proposes on its leader too); by default requests are spread over all nodes and followers forward them"},
			&cli.BoolFlag{Name: "node-pprof", Usage: "serve Go's profiler on every node of the local cluster (their URLs are logged), to profile the nodes under load"},
			&cli.StringFlag{Name: "cpuprofile", Usage: "write the bench process's own CPU profile (load generator and baseline) to `FILE`"},
		},
		Action: runBenchCreate,
	}
}

// benchSettings are the parsed flags of `hive bench create`.
type benchSettings struct {
	addresses []string
	local     int
	clients   []int
	opts      bench.Options // Clients is set per point
	baseline  bool
	leader    bool // --leader-only
	nodePprof bool // --node-pprof
	entrySize int
	timeout   time.Duration
	json      bool

	raftLogger hclog.Logger // the baseline's raft log
}

func parseBenchFlags(c *cli.Context) (*benchSettings, error) {
	if err := wantArgs(c, 0, 0); err != nil {
		return nil, err
	}
	s := &benchSettings{
		local:     c.Int("local"),
		baseline:  c.Bool("baseline"),
		leader:    c.Bool("leader-only"),
		nodePprof: c.Bool("node-pprof"),
		entrySize: c.Int("entry-size"),
		timeout:   c.Duration("timeout"),
		json:      jsonOutput(c),
		opts: bench.Options{
			Requests: c.Int("requests"),
			Duration: c.Duration("duration"),
			Warmup:   c.Duration("warmup"),
		},
	}
	if c.IsSet("duration") && !c.IsSet("requests") {
		s.opts.Requests = 0
	}
	if c.IsSet(flagAddress) { // on the command line or from HIVE_ADDR
		if c.IsSet("local") {
			return nil, usagef("give --address or --local, not both")
		}
		addrs, err := addressList(c)
		if err != nil {
			return nil, err
		}
		s.addresses = addrs
	} else if s.local < 1 {
		return nil, invalidf("--local must be at least 1, got %d", s.local)
	}
	for _, f := range strings.Split(c.String("clients"), ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, invalidf("--clients: want positive numbers such as 1,64,256, got %q", c.String("clients"))
		}
		s.clients = append(s.clients, n)
	}
	if s.entrySize < 1 {
		return nil, invalidf("--entry-size must be positive, got %d", s.entrySize)
	}
	if s.timeout <= 0 {
		return nil, invalidf("--timeout must be positive")
	}
	if err := (bench.Options{Clients: 1, Requests: s.opts.Requests, Duration: s.opts.Duration, Warmup: s.opts.Warmup}).Validate(); err != nil {
		return nil, invalidf("-n, --duration, --warmup: %v", err)
	}
	return s, nil
}

func runBenchCreate(c *cli.Context) error {
	s, err := parseBenchFlags(c)
	if err != nil {
		return err
	}
	level, err := parseLevel(c.String(flagLogLevel))
	if err != nil {
		return err
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "bench", Level: hclogLevel(level), Output: c.App.ErrWriter})
	// The baseline's raft warns of every election; its log shows errors
	// only, unless debug logging is asked for.
	raftLevel := hclog.Error
	if l := hclogLevel(level); l <= hclog.Debug {
		raftLevel = l
	}
	s.raftLogger = hclog.New(&hclog.LoggerOptions{Name: "bench.raft", Level: raftLevel, Output: c.App.ErrWriter})

	// SIGINT or SIGTERM ends the run early; the deferred clean-ups still
	// stop the local cluster and remove every temporary directory.
	ctx, stop, err := benchContext(c)
	if err != nil {
		return err
	}
	defer stop()

	report, runErr := runBench(ctx, s, logger)
	if report.measured() {
		var err error
		if s.json {
			err = printJSON(c.App.Writer, report)
		} else {
			err = report.writeTable(c.App.Writer)
		}
		if err != nil && runErr == nil {
			runErr = err
		}
	}
	if runErr != nil && ctx.Err() != nil {
		// The table above holds only the points measured before the signal.
		return &cliError{code: "interrupted", msg: "bench: interrupted; the figures printed are partial"}
	}
	if err := benchError(ctx, runErr); err != nil {
		return err
	}
	for _, p := range report.Points {
		for _, st := range []*scenarioStats{p.Raft, p.Hive} {
			if st.errorRate() > benchMaxErrorRate {
				return &cliError{code: "bench_errors", msg: fmt.Sprintf("bench: %.2f%% of requests failed at %d clients (limit %.0f%%)",
					100*st.errorRate(), p.Clients, 100*benchMaxErrorRate)}
			}
		}
	}
	return nil
}

// cpuProfileFlag profiles this process's CPU into the --cpuprofile file,
// if the flag is set, until the returned function is called (a no-op when
// it is not set).
func cpuProfileFlag(c *cli.Context) (stop func(), err error) {
	path := c.String("cpuprofile")
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, invalidf("--cpuprofile: %v", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, invalidf("--cpuprofile: %v", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}

// benchContext is the context of a bench run, which a SIGINT or SIGTERM
// ends, with the --cpuprofile of the command, if it has one, started;
// stop ends both.
func benchContext(c *cli.Context) (ctx context.Context, stop func(), err error) {
	ctx, stopSignals := signalContext(c)
	stopProfile, err := cpuProfileFlag(c)
	if err != nil {
		stopSignals()
		return nil, nil, err
	}
	return ctx, func() {
		stopProfile()
		stopSignals()
	}, nil
}

// addressList is --address as node base URLs: one, or a comma-separated
// list.
func addressList(c *cli.Context) ([]string, error) {
	var bases []string
	for _, a := range strings.Split(c.String(flagAddress), ",") {
		base, err := bench.NormalizeAddress(a)
		if err != nil {
			return nil, invalidf("--address: %v", err)
		}
		bases = append(bases, base)
	}
	return bases, nil
}

// benchError is a bench command's error for runErr, the error its run
// ended with: nil for none, "interrupted" when ctx was cancelled (a
// signal), else "bench_failed".
func benchError(ctx context.Context, runErr error) error {
	switch {
	case runErr == nil:
		return nil
	case ctx.Err() != nil:
		return &cliError{code: "interrupted", msg: "bench: interrupted"}
	default:
		return &cliError{code: "bench_failed", msg: "bench: " + runErr.Error()}
	}
}

// runClusterBench runs a bench whose clusters run in this process: run
// gets a temporary directory for them (named after prefix, removed at
// the end), their nodes' logger (errors only, to stderr) and a context a
// SIGINT or SIGTERM ends; --cpuprofile, where the command has it,
// profiles the run. What run returns is printed, also after an error
// (it is then partial), and the command's error is benchError's.
func runClusterBench[R any](c *cli.Context, prefix string,
	run func(ctx context.Context, dir string, logger hclog.Logger) (*R, error), print func(*R) error) error {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	logger := hclog.New(&hclog.LoggerOptions{Name: "hive", Level: hclog.Error, Output: c.App.ErrWriter})

	ctx, stop, err := benchContext(c)
	if err != nil {
		return err
	}
	defer stop()
	res, runErr := run(ctx, dir, logger)
	if res != nil {
		if err := print(res); err != nil && runErr == nil {
			runErr = err
		}
	}
	return benchError(ctx, runErr)
}

// testPluginDir is the --plugin-dir of a bench that runs test agents
// (default: this binary's directory), checked to hold hive-agent-test.
func testPluginDir(c *cli.Context) (string, error) {
	dir := c.String("plugin-dir")
	if dir == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", invalidf("--plugin-dir: %v", err)
		}
		dir = filepath.Dir(exe)
	}
	if _, err := os.Stat(filepath.Join(dir, "hive-agent-test")); err != nil {
		return "", invalidf("--plugin-dir: no hive-agent-test in %s (run make build): %v", dir, err)
	}
	return dir, nil
}

// hclogLevel maps the CLI's --log-level to hclog's levels.
func hclogLevel(l slog.Level) hclog.Level {
	switch {
	case l < slog.LevelDebug:
		return hclog.Trace
	case l < slog.LevelInfo:
		return hclog.Debug
	case l < slog.LevelWarn:
		return hclog.Info
	case l < slog.LevelError:
		return hclog.Warn
	}
	return hclog.Error
}

// runBench runs the baseline at every point (when asked), then Hive at
// every point, so that the two never compete for the CPU. It returns what
// it measured even when it stops early.
func runBench(ctx context.Context, s *benchSettings, logger hclog.Logger) (*benchReport, error) {
	report := &benchReport{
		Nodes: len(s.addresses), Addresses: s.addresses,
		Requests: s.opts.Requests, Duration: s.opts.Duration, Warmup: s.opts.Warmup,
		LeaderOnly: s.leader,
	}
	if len(s.addresses) == 0 {
		report.Nodes, report.Local = s.local, true
	}
	for _, n := range s.clients {
		report.Points = append(report.Points, &benchPoint{Clients: n})
	}
	if s.baseline {
		report.EntrySize = s.entrySize
		if err := runBaseline(ctx, s, report, logger); err != nil {
			return report, fmt.Errorf("baseline: %w", err)
		}
	}
	if err := runHive(ctx, s, report, logger); err != nil {
		return report, err
	}
	return report, nil
}

// runBaseline measures bare raft with as many nodes as the Hive cluster.
func runBaseline(ctx context.Context, s *benchSettings, report *benchReport, logger hclog.Logger) error {
	dir, err := os.MkdirTemp("", "hive-bench-raft-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	startCtx, cancel := context.WithTimeout(ctx, benchStartupTimeout)
	defer cancel()
	logger.Info("starting bare raft cluster", "nodes", report.Nodes, "dir", dir)
	cfg := benchRaftCluster(report.Nodes)
	cfg.Dir, cfg.Logger = dir, s.raftLogger
	cluster, err := bench.StartRaftCluster(startCtx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if s.raftLogger.GetLevel() > hclog.Debug {
			// Connections torn down at shutdown make raft log errors
			// that say nothing about the run.
			s.raftLogger.SetLevel(hclog.Off)
		}
		if err := cluster.Shutdown(); err != nil {
			logger.Warn("bare raft shutdown", "error", err)
		}
	}()
	op := cluster.Op(bench.Payload(s.entrySize))
	for _, p := range report.Points {
		res, err := runPoint(ctx, s, p.Clients, "raft", op, logger)
		if res != nil {
			p.Raft = newScenarioStats(res)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// runHive measures the cluster at the given addresses, or a local one it
// starts and stops.
func runHive(ctx context.Context, s *benchSettings, report *benchReport, logger hclog.Logger) error {
	addrs := s.addresses
	if report.Local {
		logger.Info("starting local hive cluster", "nodes", s.local)
		exe, prefix, err := benchAgentCommand()
		if err != nil {
			return fmt.Errorf("find the hive binary: %w", err)
		}
		lc, err := startLocalCluster(ctx, localClusterConfig{
			Nodes: s.local, Exe: exe, ArgsPrefix: prefix, Timeout: benchStartupTimeout, Logger: logger,
			Debug: s.nodePprof,
		})
		if err != nil {
			return fmt.Errorf("start local cluster: %w", err)
		}
		defer func() {
			if err := lc.Stop(benchStopGrace); err != nil {
				logger.Warn("stopping local cluster", "error", err)
			}
		}()
		addrs = lc.HTTPAddrs()
	} else {
		waitCtx, cancel := context.WithTimeout(ctx, benchStartupTimeout)
		defer cancel()
		if err := waitLeader(waitCtx, addrs[0]); err != nil {
			return fmt.Errorf("cluster not ready: %w", err)
		}
	}
	if s.leader {
		waitCtx, cancel := context.WithTimeout(ctx, benchStartupTimeout)
		leader, err := findLeader(waitCtx, addrs)
		cancel()
		if err != nil {
			return err
		}
		addrs = []string{leader}
	}
	runID := strconv.FormatInt(time.Now().UnixNano(), 36)
	for i, p := range report.Points {
		target, err := bench.NewHTTPCreate(addrs, p.Clients, s.timeout, fmt.Sprintf("%s-%d", runID, i))
		if err != nil {
			return err
		}
		res, err := runPoint(ctx, s, p.Clients, "hive", target.Op, logger)
		target.Close()
		if res != nil {
			p.Hive = newScenarioStats(res)
			p.computeRatios()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// runPoint runs one scenario at one concurrency.
func runPoint(ctx context.Context, s *benchSettings, clients int, scenario string, op bench.Op, logger hclog.Logger) (*bench.Result, error) {
	opts := s.opts
	opts.Clients = clients
	logger.Info("running", "scenario", scenario, "clients", clients, "requests", opts.Requests, "duration", opts.Duration)
	res, err := bench.Run(ctx, opts, op)
	if err != nil {
		return res, fmt.Errorf("%s at %d clients: %w", scenario, clients, err)
	}
	logger.Info("done", "scenario", scenario, "clients", clients, "ops/s", int(res.OpsPerSec()), "errors", res.Errors)
	return res, nil
}
