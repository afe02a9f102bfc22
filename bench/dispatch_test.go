package bench

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// TestRunDispatchCountsEveryWorkOrder runs a small dispatch bench on a
// real three-node cluster with the real test agent and checks that every
// work order is counted once, as completed, with a latency.
func TestRunDispatchCountsEveryWorkOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster and plugin processes")
	}
	dir := agentDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := RunDispatch(ctx, DispatchConfig{
		Dir: t.TempDir(), PluginDir: dir, WorkOrders: 200, Clients: 8, Capacity: 4, Window: 50,
		Logger: hclog.NewNullLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Completed != 200 || res.Failed != 0 || res.Latency.P50 <= 0 || res.Latency.Max < res.Latency.P99 || res.PerSec() <= 0 {
		t.Fatalf("result %+v", res)
	}
	t.Logf("%.0f completed/s, p50 %s, p99 %s", res.PerSec(), res.Latency.P50, res.Latency.P99)
}
