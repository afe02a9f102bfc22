// Command v1plugin is a plugin that offers only protocol version 1 (one
// Execute call per task), as plugins built before the Session call do:
// the tests check that a host still runs it. It echoes the task's payload
// as a log line and its output "payload", or fails the task when the
// payload is "fail".
package main

import (
	"context"
	"errors"

	"github.com/hive-swarm/hive/plugins"
	"github.com/hive-swarm/hive/plugins/sdk"
)

type agent struct{}

func (agent) Describe() sdk.Description {
	return sdk.Description{
		Name:    "hive-agent-v1",
		Version: "1.0.0",
		Types:   []sdk.AgentType{{Name: "test", Description: "echoes its payload"}},
	}
}

func (agent) Execute(_ context.Context, task *sdk.Task, r sdk.Reporter) (*sdk.Result, error) {
	if string(task.Payload) == "fail" {
		return nil, errors.New("asked to fail")
	}
	r.Log(sdk.StreamAgent, string(task.Payload))
	return &sdk.Result{Outputs: map[string]string{"payload": string(task.Payload)}}, nil
}

func main() {
	sdk.Serve(agent{}, sdk.WithProtocolVersions(plugins.ProtocolVersionExecute))
}
