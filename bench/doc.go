// Package bench measures write throughput and latency: a closed-loop load
// generator (Run) with per-worker latency histograms (Histogram), an HTTP
// target that creates work orders through Hive's API (HTTPCreate), and a
// bare hashicorp/raft cluster (RaftCluster) that serves as the baseline Hive
// is compared against.
//
// The baseline runs N raft nodes in this process with a Hive node's raft
// set-up, built by package node's own constructors (node.NewRaftConfig,
// node.OpenRaftStores, node.NewRaftTransport): the same raft.Config, the
// same raft-boltdb/v2 log and stable store behind the same log cache, the
// same FileSnapshotStore and the same TCP NetworkTransport settings. Only
// the FSM differs (it counts entries), so Hive's figures can be read as a
// ratio of what raft alone achieves on the same machine with one proposal
// per log entry.
//
// The HTTP target uses its own lean HTTP/1.1 client against http://
// addresses, so that the load generator, which shares the machine's CPUs
// with the nodes it measures, takes as little of them as it can.
//
// Results are figures to compare, never assertions: tests of this package
// check that the numbers are counted correctly, not that they are fast.
package bench
