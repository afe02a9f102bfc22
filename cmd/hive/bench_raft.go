package main

import (
	"github.com/hive-swarm/hive/bench"
	"github.com/hive-swarm/hive/node"
)

// benchRaftCluster returns the settings of the bare-raft baseline: a Hive
// node's default raft timings. Package bench builds the raft.Config, the
// stores and the transport with package node's own constructors, so the
// comparison is between Hive and raft configured alike by construction.
func benchRaftCluster(nodes int) bench.RaftClusterConfig {
	return bench.RaftClusterConfig{
		Nodes:    nodes,
		Timeouts: node.DefaultConfig().RaftTimeouts,
	}
}
