package main

import (
	"github.com/hashicorp/raft"

	"github.com/hive-swarm/hive/bench"
	"github.com/hive-swarm/hive/node"
)

// benchRaftCluster returns the settings of the bare-raft baseline: those a
// Hive node runs with by default, so that the comparison is between Hive
// and raft configured alike. It mirrors node's raft set-up (node/raft.go:
// raftConfig, the log cache and the transport pool); keep the two in step.
func benchRaftCluster(nodes int) bench.RaftClusterConfig {
	return bench.RaftClusterConfig{
		Nodes:        nodes,
		Raft:         raftConfigFor(node.DefaultConfig().RaftTimeouts),
		MaxPool:      3,
		LogCacheSize: 512,
	}
}

// raftConfigFor applies Hive's raft timings to raft.DefaultConfig(), as
// node does.
func raftConfigFor(t node.RaftTimeouts) *raft.Config {
	c := raft.DefaultConfig()
	c.HeartbeatTimeout = t.Heartbeat
	c.ElectionTimeout = t.Election
	c.LeaderLeaseTimeout = t.LeaderLease
	c.CommitTimeout = t.CommitTimeout
	c.SnapshotThreshold = t.SnapshotThreshold
	c.SnapshotInterval = t.SnapshotInterval
	c.TrailingLogs = t.TrailingLogs
	// Hive's FSM is a raft.BatchingFSM, and the node lets raft batch the
	// apply channel accordingly.
	c.BatchApplyCh = true
	return c
}
