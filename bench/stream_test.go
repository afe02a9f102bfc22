package bench

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// TestRunStreamDeliversToSubscribers runs a small stream bench: the
// dispatch bench without, then with SSE subscribers on a real cluster,
// and checks that every subscriber attached and received events.
func TestRunStreamDeliversToSubscribers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts clusters and plugin processes")
	}
	dir := t.TempDir()
	out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "hive-agent-test"),
		"github.com/hive-swarm/hive/agents/test").CombinedOutput()
	if err != nil {
		t.Fatalf("building hive-agent-test: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := RunStream(ctx, StreamConfig{
		Dispatch: DispatchConfig{
			Dir: t.TempDir(), PluginDir: dir, WorkOrders: 100, Clients: 8, Capacity: 4, Window: 50,
			Logger: hclog.NewNullLogger(),
		},
		Subscribers: 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Plain.Completed != 100 || res.Subscribed.Completed != 100 || res.Connected != 10 {
		t.Fatalf("result %+v", res)
	}
	// Each subscriber sees at least a created and a completed event per
	// work order.
	if res.Delivered < 10*200 || res.DeliveredPerSec() <= 0 {
		t.Fatalf("delivered %d events (%.0f/s)", res.Delivered, res.DeliveredPerSec())
	}
	t.Logf("%.0f vs %.0f completed/s (slowdown %.1f %%), %.0f events/s delivered, %d cutoffs",
		res.Plain.PerSec(), res.Subscribed.PerSec(), 100*res.Slowdown(), res.DeliveredPerSec(), res.Cutoffs)
}
