package main

import (
	"github.com/urfave/cli/v2"

	"github.com/hive-swarm/hive/fsm"
)

// runTimeoutFlag is "wo create --run-timeout".
func runTimeoutFlag() cli.Flag {
	return &cli.DurationFlag{Name: "run-timeout", Usage: "limit each attempt's run to a `DURATION` up to 168h; a longer run fails (and may be retried) (default: the node's --run-timeout)"}
}

// runTimeout returns --run-timeout as the request's run_timeout: "" when
// it is not given or 0 (the running node's default).
func runTimeout(c *cli.Context) (string, error) {
	if !c.IsSet("run-timeout") {
		return "", nil
	}
	d := c.Duration("run-timeout")
	switch {
	case d < 0:
		return "", invalidf("--run-timeout: %s is negative (0 or absent: the node's default)", d)
	case d > fsm.MaxRunTimeout:
		return "", invalidf("--run-timeout: %s is more than %s", d, fsm.MaxRunTimeout)
	case d == 0:
		return "", nil
	}
	return d.String(), nil
}

// runTimeoutText renders a work order's run timeout for "wo show".
func runTimeoutText(s string) string {
	if s == "" {
		return "node default"
	}
	return s
}
