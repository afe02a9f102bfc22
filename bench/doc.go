// Package bench measures write throughput and latency: a closed-loop load
// generator (Run) with per-worker latency histograms (Histogram), an HTTP
// target that creates work orders through Hive's API (HTTPCreate), and a
// bare hashicorp/raft cluster (RaftCluster) that serves as the baseline Hive
// is compared against.
//
// The baseline runs N raft nodes in this process with the stores Hive uses
// (raft-boltdb/v2 log and stable store, FileSnapshotStore, TCP
// NetworkTransport on 127.0.0.1) and the raft.Config the caller passes, so
// that Hive's figures can be read as a ratio of what raft alone achieves on
// the same machine with one proposal per log entry.
//
// Results are figures to compare, never assertions: tests of this package
// check that the numbers are counted correctly, not that they are fast.
package bench
