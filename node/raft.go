package node

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/hive-swarm/hive/gossip"
	"go.etcd.io/bbolt"
)

const (
	raftDirName       = "raft"
	raftDBName        = "raft.db"
	snapshotsRetained = 2
	logCacheSize      = 512
	transportMaxPool  = 3
	transportTimeout  = 10 * time.Second
	boltOpenTimeout   = 5 * time.Second
)

// setupRaft opens the raft listener, stores and transport and starts raft.
// Raft keeps its log and stable store in DataDir/raft/raft.db (bbolt) and
// its snapshots in DataDir/raft/snapshots.
func (n *Node) setupRaft() error {
	ln, err := net.Listen("tcp", gossip.HostPort(n.cfg.BindAddr, n.cfg.RaftPort))
	if err != nil {
		return fmt.Errorf("node: listen raft: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	adv := &net.TCPAddr{IP: net.ParseIP(n.advertise), Port: port}
	n.stream = newStreamLayer(ln, adv)
	n.raftAddr = adv.String()

	dir := filepath.Join(n.dataDir, raftDirName)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("node: raft dir: %w", err)
	}
	store, err := raftboltdb.New(raftboltdb.Options{
		Path:        filepath.Join(dir, raftDBName),
		BoltOptions: &bbolt.Options{Timeout: boltOpenTimeout},
	})
	if err != nil {
		return fmt.Errorf("node: open raft store: %w", err)
	}
	n.store = store
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, snapshotsRetained, n.logger.Named("snapshot"))
	if err != nil {
		return fmt.Errorf("node: snapshot store: %w", err)
	}
	n.hadState, err = raft.HasExistingState(store, store, snaps)
	if err != nil {
		return fmt.Errorf("node: inspect raft state: %w", err)
	}
	n.raftHasCfg.Store(n.hadState)
	logs, err := raft.NewLogCache(logCacheSize, store)
	if err != nil {
		return fmt.Errorf("node: log cache: %w", err)
	}

	n.transport = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  n.stream,
		MaxPool: transportMaxPool,
		Timeout: transportTimeout,
		Logger:  n.logger.Named("raft-net"),
	})

	rc := n.raftConfig()
	if err := raft.ValidateConfig(rc); err != nil {
		return fmt.Errorf("node: raft config: %w", err)
	}
	r, err := raft.NewRaft(rc, n.fsm, logs, store, snaps, n.transport)
	if err != nil {
		return fmt.Errorf("node: start raft: %w", err)
	}
	n.raft = r
	return nil
}

func (n *Node) raftConfig() *raft.Config {
	t := n.cfg.RaftTimeouts
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(n.cfg.Name)
	rc.Logger = n.logger.Named("raft")
	rc.NotifyCh = n.leaderCh
	rc.HeartbeatTimeout = t.Heartbeat
	rc.ElectionTimeout = t.Election
	rc.LeaderLeaseTimeout = t.LeaderLease
	rc.CommitTimeout = t.CommitTimeout
	rc.SnapshotThreshold = t.SnapshotThreshold
	rc.SnapshotInterval = t.SnapshotInterval
	rc.TrailingLogs = t.TrailingLogs
	// A removed node keeps running (and may be added back); Leave shuts
	// the node down itself.
	rc.ShutdownOnRemove = false
	return rc
}

// raftConfiguration returns the latest raft configuration.
func (n *Node) raftConfiguration() (raft.Configuration, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return raft.Configuration{}, mapRaftErr(err)
	}
	return f.Configuration(), nil
}

// mapRaftErr translates raft's errors into this package's sentinels.
func mapRaftErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrNotLeader):
		return fmt.Errorf("%w: %w", ErrNotLeader, err)
	case errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrAbortedByRestore):
		return fmt.Errorf("%w: %w", ErrLeadershipLost, err)
	case errors.Is(err, raft.ErrRaftShutdown):
		return fmt.Errorf("%w: %w", ErrShutdown, err)
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	case errors.Is(err, raft.ErrLeadershipTransferInProgress):
		// The leader is handing over; nothing was appended.
		return fmt.Errorf("%w: %w", ErrNoLeader, err)
	default:
		return err
	}
}

// waitFuture waits for f, or until stop is closed (then it returns
// ErrShutdown; the future completes later on its own, since raft answers
// every future by the time it has shut down).
func waitFuture(stop <-chan struct{}, f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return mapRaftErr(err)
	case <-stop:
		return ErrShutdown
	}
}
