package main

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/urfave/cli/v2"

	"github.com/hive-swarm/hive/bench"
	"github.com/hive-swarm/hive/node"
)

// benchFailoverCommand is `hive bench failover`.
func benchFailoverCommand() *cli.Command {
	def := node.DefaultConfig()
	return &cli.Command{
		Name:      "failover",
		Usage:     "Kill the leader, then a follower, while work runs; print the time to the next committed write and to the work restarted elsewhere",
		UsageText: "hive bench failover [--runs N] [-n N] [--sleep D] [--requeue-grace D] [--probe-interval D] [--plugin-dir DIR] [-json]",
		Description: description(`For each of --runs runs and each kind of kill (the leader, a follower), starts
a throwaway cluster of three nodes inside this process (real raft, gossip,
HTTP API and test-agent plugin processes on 127.0.0.1), creates -n work orders
that sleep for --sleep, and once the victim runs some of them stops it without
leaving, as a crash looks to the others. It measures the time from the kill to
the first write committed on a survivor (and to the answer to a write sent at
the kill through a survivor's HTTP API with a default client, which adds its
retry backoff and the node's forwarding) and to the last of the victim's work
orders assigned elsewhere, waits for every work order to complete, and counts
the ones lost and the ones completed twice (from the receipt chain). Failure
detection and the requeue grace are the node's defaults unless set; the
second example uses the fast settings of the failover tests.`,
			"hive bench failover",
			"hive bench failover --runs 10 --requeue-grace 2s --probe-interval 200ms --probe-timeout 100ms --suspicion-mult 3 -json"),
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "runs", Value: 5, Usage: "runs of each kind of kill"},
			&cli.IntFlag{Name: "requests", Aliases: []string{"n"}, Value: 12, Usage: "sleeping work orders in flight"},
			&cli.DurationFlag{Name: "sleep", Value: 3 * time.Second, Usage: "how long each work order runs"},
			&cli.DurationFlag{Name: "requeue-grace", Value: def.RequeueGrace, Usage: "the nodes' requeue grace"},
			&cli.DurationFlag{Name: "probe-interval", Value: def.Gossip.ProbeInterval, Usage: "the nodes' gossip probe interval"},
			&cli.DurationFlag{Name: "probe-timeout", Value: def.Gossip.ProbeTimeout, Usage: "the nodes' gossip probe timeout"},
			&cli.IntFlag{Name: "suspicion-mult", Value: def.Gossip.SuspicionMult, Usage: "the nodes' gossip suspicion multiplier"},
			&cli.StringFlag{Name: "plugin-dir", Usage: "`DIR` holding hive-agent-test (default: this binary's directory)"},
		},
		Action: runBenchFailover,
	}
}

func runBenchFailover(c *cli.Context) error {
	if err := wantArgs(c, 0, 0); err != nil {
		return err
	}
	cfg := bench.FailoverConfig{
		Runs:          c.Int("runs"),
		WorkOrders:    c.Int("requests"),
		Sleep:         c.Duration("sleep"),
		RequeueGrace:  c.Duration("requeue-grace"),
		ProbeInterval: c.Duration("probe-interval"),
		ProbeTimeout:  c.Duration("probe-timeout"),
		SuspicionMult: c.Int("suspicion-mult"),
	}
	if cfg.Runs < 1 || cfg.WorkOrders < 1 || cfg.Sleep <= 0 || cfg.RequeueGrace <= 0 || cfg.ProbeInterval <= 0 || cfg.ProbeTimeout <= 0 || cfg.SuspicionMult < 1 {
		return invalidf("--runs, -n, --sleep, --requeue-grace, --probe-interval, --probe-timeout and --suspicion-mult must be positive")
	}
	pluginDir, err := testPluginDir(c)
	if err != nil {
		return err
	}
	cfg.PluginDir = pluginDir
	return runClusterBench(c, "hive-bench-failover-",
		func(ctx context.Context, dir string, logger hclog.Logger) (*bench.FailoverResult, error) {
			cfg.Dir, cfg.Logger = dir, logger
			return bench.RunFailover(ctx, cfg)
		},
		func(res *bench.FailoverResult) error {
			if jsonOutput(c) {
				return printJSON(c.App.Writer, res)
			}
			printFailover(c, res)
			return nil
		})
}

// printFailover prints the failover bench's runs: a line per kind of
// kill, with the medians and maximums of its runs.
func printFailover(c *cli.Context, res *bench.FailoverResult) {
	w := c.App.Writer
	fmt.Fprintf(w, "failover: 3 nodes, %d sleeping work orders, requeue grace %s, gossip probe %s\n",
		res.WorkOrders, fmtDur(res.RequeueGrace), fmtDur(res.Probe))
	for _, kind := range []struct {
		name string
		runs []bench.FailoverRun
	}{{"leader kill", res.Leader}, {"follower kill", res.Follower}} {
		if len(kind.runs) == 0 {
			continue
		}
		fw := bench.Summarize(kind.runs, func(r bench.FailoverRun) time.Duration { return r.FirstWrite })
		aw := bench.Summarize(kind.runs, func(r bench.FailoverRun) time.Duration { return r.APIWrite })
		rs := bench.Summarize(kind.runs, func(r bench.FailoverRun) time.Duration { return r.Restarted })
		lost, doubled, held := 0, 0, 0
		for _, r := range kind.runs {
			lost += r.Lost
			doubled += r.Doubled
			held += r.Held
		}
		fmt.Fprintf(w, "  %-13s %d runs: first write median %s max %s (through the API client %s max %s); its %d running work orders restarted elsewhere median %s max %s; lost %d, doubly completed %d\n",
			kind.name, len(kind.runs), fmtDur(fw.Median), fmtDur(fw.Max), fmtDur(aw.Median), fmtDur(aw.Max), held, fmtDur(rs.Median), fmtDur(rs.Max), lost, doubled)
	}
}
