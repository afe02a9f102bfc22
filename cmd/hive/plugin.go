package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/hive-swarm/hive/plugins/conformance"
	"github.com/urfave/cli/v2"
)

// pluginCommand is `hive plugin`: tools for agent plugin binaries.
func pluginCommand() *cli.Command {
	return &cli.Command{
		Name:      "plugin",
		Aliases:   []string{"plugins"},
		Usage:     "check agent plugin binaries",
		UsageText: "hive plugin <command> [options] [arguments...]",
		Description: description(`Agent plugins are the programs a node runs to execute work orders of their
agent types: binaries named hive-agent-<type> in the node's --plugin-dir,
written against the Hive plugin SDK (github.com/hive-swarm/hive/plugins/sdk).`,
			"hive plugin test ./hive-agent-echo",
			"hive plugin test bin/hive-agent-shell --payload '{\"command\":\"true\"}' -json"),
		Subcommands: []*cli.Command{pluginTestCommand()},
	}
}

func pluginTestCommand() *cli.Command {
	return &cli.Command{
		Name:      "test",
		Usage:     "check that a plugin binary behaves as a node expects",
		UsageText: "hive plugin test PATH [--payload JSON|@FILE] [--config JSON|@FILE] [--type TYPE] [--timeout D] [-- PLUGIN-ARGS...]",
		Description: description(`Starts the plugin the way a node does, on this machine (no node is needed),
and runs the conformance checks: the handshake (and that it refuses to run by
hand), its description, a task of every agent type it offers, streaming,
concurrency, cancellation, crash behaviour, and protocol version
negotiation. --payload and --config are the payload and the configuration
of the execute check's tasks. Arguments after "--" are passed to the
plugin. Exits non-zero (conformance_failed) when a check fails; a skipped
check (one a plugin not built on the SDK cannot answer) is no failure.`,
			"hive plugin test ./hive-agent-echo",
			"hive plugin test bin/hive-agent-shell --payload '{\"command\":\"echo hi\"}'",
			"hive plugin test bin/hive-agent-shell --type build -- -types build,lint",
			"hive plugin test ./hive-agent-echo --payload @task.json -json | jq '.checks[] | select(.status != \"pass\")'"),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "payload", Usage: "payload `JSON` of the execute check's tasks, or @FILE (default {})"},
			&cli.StringFlag{Name: "config", Usage: "agent type configuration `JSON` sent with those tasks, or @FILE"},
			&cli.StringSliceFlag{Name: "type", Usage: "run the execute check on agent `TYPE` only (repeatable; default every type)"},
			&cli.DurationFlag{Name: "timeout", Value: conformance.DefaultTimeout, Usage: "bound of each check, a `DURATION`"},
		},
		Action: pluginTest,
	}
}

func pluginTest(c *cli.Context) error {
	if err := wantArgs(c, 1, -1); err != nil {
		return err
	}
	path := c.Args().First()
	if fi, err := os.Stat(path); err != nil {
		return invalidf("%v", err)
	} else if fi.IsDir() {
		return invalidf("%s is a directory, not a plugin binary", path)
	}
	if c.Duration("timeout") <= 0 {
		return invalidf("--timeout: must be positive")
	}
	cfg := conformance.Config{
		Path:    path,
		Args:    c.Args().Tail(),
		Types:   c.StringSlice("type"),
		Timeout: c.Duration("timeout"),
	}
	var err error
	if cfg.Payload, err = jsonArg(c, "payload"); err != nil {
		return err
	}
	if cfg.Config, err = jsonArg(c, "config"); err != nil {
		return err
	}
	if level, _ := parseLevel(c.String(flagLogLevel)); level <= slog.LevelDebug {
		cfg.LogOutput = c.App.ErrWriter
	}

	rep := conformance.Run(c.Context, cfg)
	if err := output(c, rep, func(w io.Writer) error {
		_, err := io.WriteString(w, rep.String())
		return err
	}); err != nil {
		return err
	}
	if !rep.Passed {
		var names []string
		for _, f := range rep.Failed() {
			names = append(names, f.Name)
		}
		return &cliError{code: "conformance_failed",
			msg: fmt.Sprintf("%s failed %d of %d checks: %s", path, len(names), len(rep.Checks), strings.Join(names, ", "))}
	}
	return nil
}

// jsonArg reads the JSON (or @FILE) of flag name; unset gives nil.
func jsonArg(c *cli.Context, name string) ([]byte, error) {
	s := c.String(name)
	if s == "" {
		return nil, nil
	}
	raw, err := readArgFile(c, s)
	if err != nil {
		return nil, err
	}
	if !json.Valid(raw) {
		return nil, invalidf("--%s: not valid JSON", name)
	}
	return raw, nil
}
