package main

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-hclog"
	"github.com/urfave/cli/v2"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/bench"
)

// benchDispatchCommand is `hive bench dispatch`.
func benchDispatchCommand() *cli.Command {
	return &cli.Command{
		Name:      "dispatch",
		Usage:     "Run work orders through create, assign, run and complete; print completed/s and create-to-complete latency",
		UsageText: "hive bench dispatch [-n N] [--nodes N] [--capacity N] [-c N] [--window N] [--batch N] [--plugin-dir DIR] [-json]",
		Description: description(`Starts a throwaway cluster of --nodes nodes inside this process (real raft,
gossip, HTTP API and agent plugin processes on 127.0.0.1), turns its WIP
limits and leveling off, and sends -n work orders of type "test" with a no-op
payload through the HTTP API, spread over the nodes. The leader assigns each to
a node, the node runs it on its test agent (hive-agent-test from --plugin-dir,
by default this binary's directory, where make build puts it) and reports it
complete. At most --window work orders are created but not yet complete at
any time. Prints completed work orders per second, the CPU time per work
order (this process and the plugin processes, Linux only) and the p50/p99
latency from sending the create to the completion's receipt. Unless GOGC is
set in the environment, this process and its plugin processes run with
GOGC=--gogc (default 400: measured to cut the CPU per work order by about a
quarter; --gogc 0 keeps Go's default). With --batch N each client sends its
creates N at a time through POST /v1/workorders/batch (one raft entry per
batch) instead of one POST /v1/workorders per work order; the window still
counts work orders.`,
			"hive bench dispatch",
			"hive bench dispatch -n 20000 --capacity 128 -c 128 -json",
			"hive bench dispatch -n 20000 -c 256 --capacity 256 --batch 128"),
		Flags: append(dispatchFlags(10000, "work orders to run"),
			&cli.StringFlag{Name: "cpuprofile", Usage: "write this process's CPU profile (the nodes and the load generator) to `FILE`"},
			&cli.IntFlag{Name: "batch", Value: 1,
				Usage: "work orders per create request: 1 sends POST /v1/workorders, more POST /v1/workorders/batch (at most 1000 and --window)"},
		),
		Action: runBenchDispatch,
	}
}

func runBenchDispatch(c *cli.Context) error {
	if err := wantArgs(c, 0, 0); err != nil {
		return err
	}
	cfg, err := dispatchConfig(c)
	if err != nil {
		return err
	}
	cfg.Batch = c.Int("batch")
	if cfg.Batch < 1 || cfg.Batch > api.MaxBatchWorkOrders || cfg.Batch > cfg.Window {
		return invalidf("--batch must be 1..%d and at most --window (%d), got %d", api.MaxBatchWorkOrders, cfg.Window, cfg.Batch)
	}
	gogc, err := applyGOGC(c.Int("gogc"))
	if err != nil {
		return err
	}
	return runClusterBench(c, "hive-bench-dispatch-",
		func(ctx context.Context, dir string, logger hclog.Logger) (*bench.DispatchResult, error) {
			cfg.Dir, cfg.Logger = dir, logger
			return bench.RunDispatch(ctx, cfg)
		},
		func(res *bench.DispatchResult) error { return printDispatch(c, res, gogc) })
}

// printDispatch prints what the dispatch bench measured, with GOGC in
// force: a JSON object with -json, else a few lines.
func printDispatch(c *cli.Context, res *bench.DispatchResult, gogc string) error {
	if jsonOutput(c) {
		return printJSON(c.App.Writer, struct {
			*bench.DispatchResult
			PerSec   float64 `json:"completed_per_sec"`
			CPUPerWO float64 `json:"cpu_us_per_workorder"`
			GOGC     string  `json:"gogc"`
			Mode     string  `json:"mode"`
		}{res, res.PerSec(), float64(res.CPUPerWorkOrder()) / 1e3, gogc, dispatchMode(res.Batch)})
	}
	w := c.App.Writer
	fmt.Fprintf(w, "dispatch: %d nodes, %d test slots each, %d work orders, GOGC=%s\n", res.Nodes, res.Capacity, res.WorkOrders, gogc)
	fmt.Fprintf(w, "  mode        %s\n", dispatchMode(res.Batch))
	fmt.Fprintf(w, "  completed   %d (%d failed, %d create retries) in %s\n", res.Completed, res.Failed, res.CreateErrs, fmtDur(res.Elapsed))
	fmt.Fprintf(w, "  throughput  %.0f completed/s\n", res.PerSec())
	if res.CPU > 0 {
		fmt.Fprintf(w, "  cpu         %.0f µs per work order (this process %s, plugin processes %s)\n",
			float64(res.CPUPerWorkOrder())/1e3, fmtDur(res.CPU), fmtDur(res.PluginCPU))
	}
	_, err := fmt.Fprintf(w, "  create→complete latency  p50 %s  p99 %s  max %s\n",
		fmtDur(res.Latency.P50), fmtDur(res.Latency.P99), fmtDur(res.Latency.Max))
	return err
}

// dispatchFlags are the flags of the benches that run the dispatch
// scenario (dispatch, stream): -n with its default and usage, the
// cluster's shape and its GC percent (apply it with applyGOGC).
func dispatchFlags(requests int, requestsUsage string) []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "requests", Aliases: []string{"n"}, Value: requests, Usage: requestsUsage},
		&cli.IntFlag{Name: "nodes", Value: 3, Usage: "nodes of the throwaway cluster"},
		&cli.IntFlag{Name: "capacity", Value: 64, Usage: "test agent slots per node"},
		&cli.IntFlag{Name: "clients", Aliases: []string{"c"}, Value: 64, Usage: "concurrent HTTP clients creating work orders"},
		&cli.IntFlag{Name: "window", Value: 4096, Usage: "most work orders created but not complete at once"},
		&cli.StringFlag{Name: "plugin-dir", Usage: "`DIR` holding hive-agent-test (default: this binary's directory)"},
		&cli.IntFlag{Name: "gogc", Value: defaultGOGC,
			Usage: "GC percent of this process and its agent plugin processes, as hive agent's, unless GOGC is set in the environment (0: Go's default)"},
	}
}

// dispatchConfig reads and checks dispatchFlags: every count at least 1,
// and a plugin directory (default: this binary's) holding hive-agent-test.
func dispatchConfig(c *cli.Context) (bench.DispatchConfig, error) {
	cfg := bench.DispatchConfig{
		Nodes:      c.Int("nodes"),
		Capacity:   c.Int("capacity"),
		WorkOrders: c.Int("requests"),
		Clients:    c.Int("clients"),
		Window:     c.Int("window"),
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"-n", cfg.WorkOrders}, {"--nodes", cfg.Nodes}, {"--capacity", cfg.Capacity}, {"--clients", cfg.Clients}, {"--window", cfg.Window}} {
		if f.v < 1 {
			return cfg, invalidf("%s must be at least 1, got %d", f.name, f.v)
		}
	}
	dir, err := testPluginDir(c)
	if err != nil {
		return cfg, err
	}
	cfg.PluginDir = dir
	return cfg, nil
}

// dispatchMode names how the dispatch bench created its work orders.
func dispatchMode(batch int) string {
	if batch <= 1 {
		return "single creates (POST /v1/workorders)"
	}
	return fmt.Sprintf("batch creates of %d (POST /v1/workorders/batch)", batch)
}
