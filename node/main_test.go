package node

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them, with
// one exception that is raft's, not ours: hashicorp/raft v1.8.0 gives the
// futures of Barrier, VerifyLeader and LeadershipTransfer no shutdown
// channel, so a future raft accepted just before its Shutdown is never
// answered, and waitFuture's helper goroutine stays parked in its Error
// method (one per such future, holding nothing of the node's). The node
// itself does not wait for it: waitFuture returns on its stop channel.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/hashicorp/raft.(*deferError).Error"))
}
