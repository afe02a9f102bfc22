package node

import "errors"

// Sentinel errors returned (wrapped) by Node methods; test with errors.Is.
//
// Whether a write took effect is certain for ErrNotLeader and ErrNoLeader
// (it was never appended) but not for ErrTimeout, ErrLeadershipLost and an
// ErrShutdown that interrupts a wait: the command may or may not have
// committed, and there is no way to tell from here. Retrying with the same
// Header.RequestID is safe: the FSM answers a repeated request ID with the
// first outcome instead of applying it twice.
var (
	// ErrNotLeader: this node is not the leader. Writes and linearizable
	// reads must go to the leader (see Node.Leader); the HTTP layer
	// forwards them. The command was not appended.
	ErrNotLeader = errors.New("node: not the leader")
	// ErrNoLeader: the cluster has no known leader right now (an election
	// is under way or quorum is lost). The command was not appended; retry
	// later.
	ErrNoLeader = errors.New("node: no cluster leader")
	// ErrShutdown: the node is shutting down or has shut down.
	ErrShutdown = errors.New("node: shut down")
	// ErrTimeout: the operation did not finish within its deadline (the
	// caller's context or RaftTimeouts.ApplyTimeout). A write may or may
	// not have committed.
	ErrTimeout = errors.New("node: timed out")
	// ErrLeadershipLost: this node lost leadership while the write was in
	// flight. It may or may not have committed.
	ErrLeadershipLost = errors.New("node: leadership lost while committing")
)
