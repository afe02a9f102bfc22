// Command hive-agent-shell is the agent plugin that runs a command built
// from a work order: an argv of text/template templates rendered over the
// work order's fields and its JSON payload, run in a working directory
// with a timeout, a clean environment and resource limits. The exit code,
// bounded stdout and stderr, and named output files (with SHA-256
// digests) are the evidence of the run.
//
// Without configuration it runs the payload's "command" with /bin/sh:
//
//	hive wo create --type shell --title "Run the tests" --payload '{"command":"make test"}'
//
// A node's configuration fixes the command and its limits per agent type;
// see config.go for every field and the JSON Schema the plugin reports.
//
// One binary can offer several agent types, each configured on its own
// (e.g. "build" and "lint"): hive-agent-shell -types build,lint.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/hive-swarm/hive/plugins"
	"github.com/hive-swarm/hive/plugins/sdk"
)

// version is the plugin's version, set at build time with
// -ldflags "-X main.version=…".
var version = "dev"

type shellAgent struct {
	types []string
}

func (a *shellAgent) Describe() sdk.Description {
	d := sdk.Description{Name: "hive-agent-shell", Version: version}
	for _, t := range a.types {
		d.Types = append(d.Types, sdk.AgentType{
			Name:         t,
			Description:  "runs a command built from the work order, with a timeout and resource limits",
			Capabilities: []string{sdk.CapabilityProgress, sdk.CapabilityLogs, sdk.CapabilityCancel, sdk.CapabilityArtifacts},
			ConfigSchema: configSchema,
		})
	}
	return d
}

func main() {
	// The resource-limit wrapper: this binary re-executed in front of the
	// command (see limits_unix.go).
	if len(os.Args) > 1 && os.Args[1] == limitExecArg {
		os.Exit(limitExec(os.Args[2:]))
	}
	fs := flag.NewFlagSet("hive-agent-shell", flag.ExitOnError)
	types := fs.String("types", "shell", "comma-separated agent `TYPES` to offer")
	_ = fs.Parse(os.Args[1:])
	a := &shellAgent{}
	for _, t := range strings.Split(*types, ",") {
		if t = strings.TrimSpace(t); t != "" {
			if err := plugins.ValidTypeName(t); err != nil {
				fmt.Fprintln(os.Stderr, "hive-agent-shell:", err)
				os.Exit(2)
			}
			a.types = append(a.types, t)
		}
	}
	sdk.Serve(a)
}
