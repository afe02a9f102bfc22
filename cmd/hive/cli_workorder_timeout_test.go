package main

import (
	"context"
	"strings"
	"testing"

	"github.com/hive-swarm/hive/api"
)

// TestWorkOrderRunTimeoutFlag creates work orders with and without
// --run-timeout, shows them, and checks that bad values are refused
// (by the CLI, and by the server for a client that skips the CLI's
// checks) without creating anything.
func TestWorkOrderRunTimeoutFlag(t *testing.T) {
	addr := nodeAddr(t)
	const badTitle = "refused run timeout"
	mustContain(t, "wo create --help", ok(t, "", "wo", "create", "--help"), "--run-timeout DURATION", "--run-timeout 90m")

	wo := createWO(t, addr, "--title", "timed", "--run-timeout", "90s")
	if wo.RunTimeout != "1m30s" {
		t.Fatalf("--run-timeout 90s: run_timeout %q", wo.RunTimeout)
	}
	mustContain(t, "wo show", ok(t, addr, "wo", "show", wo.ID), "Run timeout:", "1m30s")
	if shown := showWO(t, addr, wo.ID); shown.RunTimeout != "1m30s" {
		t.Fatalf("wo show -json: run_timeout %q", shown.RunTimeout)
	}
	plain := createWO(t, addr, "--title", "untimed")
	if plain.RunTimeout != "" {
		t.Fatalf("no --run-timeout: run_timeout %q", plain.RunTimeout)
	}
	mustContain(t, "wo show", ok(t, addr, "wo", "show", plain.ID), "Run timeout:", "node default")
	if zero := createWO(t, addr, "--title", "zero", "--run-timeout", "0s"); zero.RunTimeout != "" {
		t.Fatalf("--run-timeout 0s: run_timeout %q", zero.RunTimeout)
	}
	if longest := createWO(t, addr, "--title", "longest", "--run-timeout", "168h"); longest.RunTimeout != "168h0m0s" {
		t.Fatalf("--run-timeout 168h: run_timeout %q", longest.RunTimeout)
	}

	for _, d := range []string{"-1s", "169h", "168h0m1s"} {
		stderr := fails(t, addr, "invalid_argument", "wo", "create", "--title", badTitle, "--run-timeout", d)
		mustContain(t, "--run-timeout "+d, stderr, "--run-timeout")
	}
	fails(t, addr, "usage", "wo", "create", "--title", badTitle, "--run-timeout", "soon")
	cl, err := api.NewClient(&api.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"-1s", "169h", "soon", "1d"} {
		_, err := cl.WorkOrders().Create(context.Background(), &api.CreateWorkOrderRequest{Title: badTitle, RunTimeout: d})
		if api.ErrorCode(err) != "invalid_argument" || !strings.Contains(err.Error(), "run_timeout") {
			t.Fatalf("server took run_timeout %q: %v", d, err)
		}
	}
	var after api.WorkOrderList
	decode(t, ok(t, addr, "wo", "list", "--all", "-json"), &after)
	for _, w := range after.WorkOrders {
		if w.Title == badTitle {
			t.Fatalf("a refused create made %s", w.ID)
		}
	}
}
