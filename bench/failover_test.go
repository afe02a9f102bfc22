package bench

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// TestRunFailoverLosesNothing runs one failover run of each kind on real
// three-node clusters with the real test agent and checks that the
// victim's work was restarted elsewhere and every work order completed
// exactly once.
func TestRunFailoverLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts clusters and plugin processes")
	}
	dir := agentDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := RunFailover(ctx, FailoverConfig{
		Dir: t.TempDir(), PluginDir: dir, Runs: 1, WorkOrders: 6, Sleep: 2 * time.Second,
		Logger: hclog.NewNullLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range append(res.Leader, res.Follower...) {
		if r.Held == 0 || r.Completed != 6 || r.Lost != 0 || r.Doubled != 0 || r.FirstWrite <= 0 || r.APIWrite <= 0 || r.Restarted <= 0 {
			t.Errorf("run %+v", r)
		}
	}
	if len(res.Leader) != 1 || len(res.Follower) != 1 || !res.Leader[0].WasLeader || res.Follower[0].WasLeader {
		t.Fatalf("result %+v", res)
	}
}
