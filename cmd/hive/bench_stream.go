package main

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-hclog"
	"github.com/urfave/cli/v2"

	"github.com/hive-swarm/hive/bench"
)

// benchStreamCommand is `hive bench stream`.
func benchStreamCommand() *cli.Command {
	return &cli.Command{
		Name:      "stream",
		Usage:     "Measure the event stream: dispatch with and without SSE subscribers; print events/s delivered and the slowdown",
		UsageText: "hive bench stream [-n N] [--subscribers N] [--rounds N] [--nodes N] [--capacity N] [-c N] [--window N] [--plugin-dir DIR] [--gogc N] [-json]",
		Description: description(`Runs the dispatch bench (see hive bench dispatch) on throwaway clusters,
--rounds times as it is and as many times with --subscribers SSE clients
following GET /v1/events, spread over the nodes from the moment each node
serves its API; the two kinds of run alternate, so that a change in the
machine's load weighs on both. Prints, for each round and for the median
round, completed work orders per second of both runs, the slowdown the
subscribers caused (goal: under 10 %), and the events per second the
subscribers received in all, with the streams a node cut off. Like the
dispatch bench (and hive agent), the process runs with GOGC=--gogc unless
GOGC is set in the environment.`,
			"hive bench stream",
			"hive bench stream -n 5000 --subscribers 200 --rounds 5 -json"),
		Flags: append(dispatchFlags(5000, "work orders to run in each run"),
			&cli.IntFlag{Name: "subscribers", Value: 100, Usage: "SSE subscribers during the runs with subscribers"},
			&cli.IntFlag{Name: "rounds", Value: 3, Usage: "pairs of runs (without, with subscribers); the median round is reported"},
			&cli.StringFlag{Name: "cpuprofile", Usage: "write this process's CPU profile (both runs: nodes, load generator, subscribers) to `FILE`"},
		),
		Action: runBenchStream,
	}
}

func runBenchStream(c *cli.Context) error {
	if err := wantArgs(c, 0, 0); err != nil {
		return err
	}
	dc, err := dispatchConfig(c)
	if err != nil {
		return err
	}
	cfg := bench.StreamConfig{Dispatch: dc, Subscribers: c.Int("subscribers"), Rounds: c.Int("rounds")}
	if cfg.Subscribers < 1 {
		return invalidf("--subscribers must be at least 1, got %d", cfg.Subscribers)
	}
	if cfg.Rounds < 1 {
		return invalidf("--rounds must be at least 1, got %d", cfg.Rounds)
	}
	gogc, err := applyGOGC(c.Int("gogc"))
	if err != nil {
		return err
	}
	return runClusterBench(c, "hive-bench-stream-",
		func(ctx context.Context, dir string, logger hclog.Logger) (*bench.StreamResult, error) {
			cfg.Dispatch.Dir, cfg.Dispatch.Logger = dir, logger
			return bench.RunStream(ctx, cfg)
		},
		func(res *bench.StreamResult) error { return printStreamResult(c, res, gogc) })
}

// printStreamResult prints what the stream bench measured, if it made a
// round, with GOGC in force: a JSON object with -json, else a line per
// round and the median round.
func printStreamResult(c *cli.Context, res *bench.StreamResult, gogc string) error {
	if len(res.Rounds) == 0 {
		return nil
	}
	if jsonOutput(c) {
		return printJSON(c.App.Writer, struct {
			*bench.StreamResult
			PlainPerSec      float64 `json:"without_completed_per_sec"`
			SubscribedPerSec float64 `json:"with_completed_per_sec"`
			Slowdown         float64 `json:"slowdown"`
			DeliveredPerSec  float64 `json:"delivered_per_sec"`
			MedianDelivered  float64 `json:"median_delivered_per_sec"`
			MedianCPU        float64 `json:"median_cpu_overhead"`
			GOGC             string  `json:"gogc"`
		}{res, res.Plain.PerSec(), res.Subscribed.PerSec(), res.Slowdown(), res.DeliveredPerSec(), res.MedianDeliveredPerSec(), res.MedianCPUOverhead(), gogc})
	}
	w := c.App.Writer
	p := res.Rounds[0].Plain
	if p == nil {
		p = res.Rounds[0].Subscribed
	}
	fmt.Fprintf(w, "stream: %d nodes, %d test slots each, %d work orders per run, %d SSE subscribers, %d rounds, GOGC=%s\n",
		p.Nodes, p.Capacity, p.WorkOrders, res.Subscribers, len(res.Rounds), gogc)
	for i := range res.Rounds {
		r := &res.Rounds[i]
		fmt.Fprintf(w, "  round %d: %.0f → %.0f completed/s, slowdown %.1f %%, %.0f events/s delivered, CPU %.1fs → %.1fs (%+.1f %%)\n",
			i+1, r.Plain.PerSec(), r.Subscribed.PerSec(), 100*r.Slowdown(), r.DeliveredPerSec(),
			r.PlainCPU.Seconds(), r.SubscribedCPU.Seconds(), 100*r.CPUOverhead())
	}
	s := res.Subscribed
	fmt.Fprintf(w, "median round (by slowdown):\n")
	fmt.Fprintf(w, "  without subscribers  %.0f completed/s (p99 %s)\n", res.Plain.PerSec(), fmtDur(res.Plain.Latency.P99))
	fmt.Fprintf(w, "  with subscribers     %.0f completed/s (p99 %s), %d streams open at most\n", s.PerSec(), fmtDur(s.Latency.P99), res.Connected)
	verdict := "within"
	if res.Slowdown() >= 0.10 {
		verdict = "OVER"
	}
	fmt.Fprintf(w, "  slowdown             %.1f %% (%s the 10 %% goal)\n", 100*res.Slowdown(), verdict)
	fmt.Fprintf(w, "  CPU time             %+.1f %% with subscribers (median of the rounds %+.1f %%)\n", 100*res.CPUOverhead(), 100*res.MedianCPUOverhead())
	_, err := fmt.Fprintf(w, "  delivered            %d events, %.0f events/s to all subscribers (median of the rounds %.0f/s; %d cut off, %d as slow consumers; %d reconnects)\n",
		res.Delivered, res.DeliveredPerSec(), res.MedianDeliveredPerSec(), res.Cutoffs, res.SlowCutoffs, res.Reconnects)
	return err
}
