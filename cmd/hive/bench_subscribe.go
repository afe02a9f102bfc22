package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hive-swarm/hive/bench"
)

// benchSubscribeCommand is `hive bench subscribe`.
func benchSubscribeCommand() *cli.Command {
	return &cli.Command{
		Name:      "subscribe",
		Usage:     "Hold many event-stream subscribers on a swarm; print the events/s they receive",
		UsageText: "hive bench subscribe [--address URL[,URL…]] [--subscribers N] [--duration D] [-json]",
		Description: description(`Opens --subscribers SSE streams of GET /v1/events, spread round-robin over the
addresses, as that many dashboards would, and follows them until --duration
has passed (or until interrupted without one); a stream a node cuts off
resumes after its last event. Then prints the events received per second in
all, the most streams open at once, and the streams cut off (as slow
consumers or otherwise) and reopened. Run it from another machine while the
swarm works (hive bench create --address …, or real work) and read what the
subscribers cost on the nodes' /metrics (process_cpu_seconds_total). It only
reads: it changes nothing on the swarm.`,
			"hive bench subscribe --address http://10.0.0.5:7070,http://10.0.0.6:7070 --subscribers 100 --duration 30s",
			"hive bench subscribe --duration 10s -json"),
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "subscribers", Value: 100, Usage: "SSE streams to hold open"},
			&cli.DurationFlag{Name: "duration", Usage: "how long to follow them (default: until interrupted)"},
		},
		Action: runBenchSubscribe,
	}
}

func runBenchSubscribe(c *cli.Context) error {
	if err := wantArgs(c, 0, 0); err != nil {
		return err
	}
	cfg := bench.SubscribeConfig{Subscribers: c.Int("subscribers"), Duration: c.Duration("duration")}
	if cfg.Subscribers < 1 {
		return invalidf("--subscribers must be at least 1, got %d", cfg.Subscribers)
	}
	if cfg.Duration < 0 {
		return invalidf("--duration must not be negative, got %s", cfg.Duration)
	}
	var err error
	if cfg.Addresses, err = addressList(c); err != nil {
		return err
	}
	// An interrupt ends the run, which still prints what it measured.
	ctx, stop := signalContext(c)
	defer stop()
	res, err := bench.RunSubscribe(ctx, cfg)
	if err != nil {
		return err
	}
	if jsonOutput(c) {
		return printJSON(c.App.Writer, struct {
			*bench.SubscribeResult
			PerSec float64 `json:"delivered_per_sec"`
		}{res, res.DeliveredPerSec()})
	}
	_, err = fmt.Fprintf(c.App.Writer,
		"subscribe: %d SSE subscribers over %d nodes for %s, %d streams open at most\n"+
			"  delivered  %d events, %.0f events/s to all subscribers\n"+
			"  cut off    %d (%d as slow consumers), %d reconnects\n",
		res.Subscribers, len(cfg.Addresses), fmtDur(res.Elapsed.Round(time.Millisecond)), res.Connected,
		res.Delivered, res.DeliveredPerSec(), res.Cutoffs, res.SlowCutoffs, res.Reconnects)
	return err
}
