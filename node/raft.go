package node

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
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

// The raft set-up below is exported so that `hive bench`'s bare-raft
// baseline runs with exactly a node's settings: the same raft.Config, the
// same stores and the same transport, built by the same code.

// NewRaftConfig returns the raft.Config a node configured with cfg runs
// with: raft.DefaultConfig() with cfg.RaftTimeouts applied (zero fields
// take their defaults), LocalID cfg.Name and cfg.Logger (named "raft").
// The node adds its own NotifyCh.
func NewRaftConfig(cfg Config) *raft.Config {
	cfg = cfg.withDefaults()
	t := cfg.RaftTimeouts
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.Name)
	if cfg.Logger != nil {
		rc.Logger = cfg.Logger.Named("raft")
	}
	rc.HeartbeatTimeout = t.Heartbeat
	rc.ElectionTimeout = t.Election
	rc.LeaderLeaseTimeout = t.LeaderLease
	rc.CommitTimeout = t.CommitTimeout
	rc.SnapshotThreshold = t.SnapshotThreshold
	rc.SnapshotInterval = t.SnapshotInterval
	rc.TrailingLogs = t.TrailingLogs
	// The apply channel stays unbuffered (raft's default): Apply returns
	// once the leader loop has taken the entry, which the proposer's group
	// commit relies on (propose.go). A bare-raft baseline measured with
	// this config is no slower for it. Raft still hands the FSM (a
	// raft.BatchingFSM) whole batches of committed entries.
	rc.BatchApplyCh = false
	// A removed node keeps running (and may be added back); Leave shuts
	// the node down itself.
	rc.ShutdownOnRemove = false
	return rc
}

// RaftStores are the stores a node's raft runs on: one bbolt file
// (raft-boltdb/v2) holding the log and the stable store, a log cache in
// front of it, and a directory of file snapshots.
type RaftStores struct {
	Bolt      *raftboltdb.BoltStore   // the stable store, and the log behind Log
	Log       raft.LogStore           // Bolt behind a raft.LogCache
	Snapshots *raft.FileSnapshotStore // the snapshot store
}

// OpenRaftStores opens, creating them if needed, the raft stores a node
// keeps in dir: dir/raft.db and dir/snapshots. Close releases them.
func OpenRaftStores(dir string, logger hclog.Logger) (*RaftStores, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("node: raft dir: %w", err)
	}
	store, err := raftboltdb.New(raftboltdb.Options{
		Path:        filepath.Join(dir, raftDBName),
		BoltOptions: &bbolt.Options{Timeout: boltOpenTimeout},
	})
	if err != nil {
		return nil, fmt.Errorf("node: open raft store: %w", err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, snapshotsRetained, logger.Named("snapshot"))
	if err != nil {
		_ = store.Close()
		return nil, fmt.Errorf("node: snapshot store: %w", err)
	}
	logs, err := raft.NewLogCache(logCacheSize, store)
	if err != nil {
		_ = store.Close()
		return nil, fmt.Errorf("node: log cache: %w", err)
	}
	return &RaftStores{Bolt: store, Log: logs, Snapshots: snaps}, nil
}

// Close closes the bbolt file.
func (s *RaftStores) Close() error {
	if err := s.Bolt.Close(); err != nil {
		return fmt.Errorf("node: close raft store: %w", err)
	}
	return nil
}

// NewRaftTransport returns the TCP transport a node's raft talks over: it
// accepts on ln, advertises advertise (ln's address when nil) and pools
// connections to each peer. Closing the transport closes ln and every
// connection it accepted.
func NewRaftTransport(ln net.Listener, advertise net.Addr, logger hclog.Logger) *raft.NetworkTransport {
	if advertise == nil {
		advertise = ln.Addr()
	}
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  newStreamLayer(ln, advertise),
		MaxPool: transportMaxPool,
		Timeout: transportTimeout,
		Logger:  logger.Named("raft-net"),
	})
}

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
	n.transport = NewRaftTransport(ln, adv, n.logger)
	n.raftAddr = adv.String()

	stores, err := OpenRaftStores(filepath.Join(n.dataDir, raftDirName), n.logger)
	if err != nil {
		return err
	}
	n.store = stores.Bolt
	n.hadState, err = raft.HasExistingState(stores.Log, stores.Bolt, stores.Snapshots)
	if err != nil {
		return fmt.Errorf("node: inspect raft state: %w", err)
	}
	n.raftHasCfg.Store(n.hadState)

	rc := NewRaftConfig(n.cfg)
	rc.Logger = n.logger.Named("raft")
	rc.NotifyCh = n.leaderCh
	if err := raft.ValidateConfig(rc); err != nil {
		return fmt.Errorf("node: raft config: %w", err)
	}
	r, err := raft.NewRaft(rc, n.fsm, stores.Log, stores.Bolt, stores.Snapshots, n.transport)
	if err != nil {
		return fmt.Errorf("node: start raft: %w", err)
	}
	n.raft = r
	return nil
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
