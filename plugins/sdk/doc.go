// Package sdk is what a Hive agent plugin is written against. A plugin is
// a small program: a type that implements Agent, and a main that calls
// Serve. Build it, name the binary hive-agent-<type>, put it in a node's
// plugin directory (hive agent --plugin-dir DIR), and the node runs work
// orders of that type through it. Check it first with
// "hive plugin test ./hive-agent-<type>".
//
// A complete plugin, offering agent type "greet":
//
//	package main
//
//	import (
//		"context"
//		"fmt"
//		"time"
//
//		"github.com/hive-swarm/hive/plugins/sdk"
//	)
//
//	type greeter struct{}
//
//	func (greeter) Describe() sdk.Description {
//		return sdk.Description{
//			Name:    "hive-agent-greet",
//			Version: "1.0.0",
//			Types: []sdk.AgentType{{
//				Name:         "greet",
//				Description:  "greets whoever the payload names",
//				Capabilities: []string{sdk.CapabilityProgress, sdk.CapabilityCancel},
//				ConfigSchema: `{"type":"object","properties":{"greeting":{"type":"string"}}}`,
//			}},
//		}
//	}
//
//	func (greeter) Execute(ctx context.Context, task *sdk.Task, r sdk.Reporter) (*sdk.Result, error) {
//		var payload struct{ Name string }
//		if err := sdk.DecodePayload(task, &payload); err != nil {
//			return nil, err // already marked Invalid
//		}
//		if payload.Name == "" {
//			return nil, sdk.Invalidf("the payload names nobody")
//		}
//		config := struct{ Greeting string }{Greeting: "Hello"}
//		if err := sdk.DecodeConfig(task, &config); err != nil {
//			return nil, err
//		}
//		r.Progress("thinking", 50, "choosing words")
//		select {
//		case <-ctx.Done(): // cancelled, past the deadline, or shutting down
//			return nil, ctx.Err()
//		case <-time.After(10 * time.Millisecond):
//		}
//		greeting := fmt.Sprintf("%s, %s!", config.Greeting, payload.Name)
//		r.Logf("greeted %s", payload.Name)
//		sdk.Logger(ctx).Debug("greeted", "name", payload.Name) // to the node's log
//		return &sdk.Result{
//			ExitStatus: 0,
//			Outputs:    map[string]string{"greeting": greeting},
//			Message:    greeting,
//		}, nil
//	}
//
//	func main() { sdk.Serve(greeter{}) }
//
// examples/plugin-echo in the Hive repository is such a plugin in a Go
// module of its own, with its tests and a README for plugin authors.
//
// # The contract
//
//   - Execute is called concurrently, once per task; the process lives as
//     long as the node (or until it crashes) and serves many tasks.
//   - Stdout carries the go-plugin handshake: never write to it. Log with
//     Logger(ctx) (to the node's log) or the Reporter (into the task's
//     evidence).
//   - Cancellation, the task's deadline and shutdown all end ctx; return
//     promptly, having stopped any child processes.
//   - The result's evidence (exit status, outputs, artifacts and the
//     digest of the logged lines) is sealed with SHA-256 digests by the
//     SDK; use FileArtifact for files.
//   - A panic in Execute fails that task only; a crash of the process
//     fails every task it held, and the node restarts it.
package sdk
