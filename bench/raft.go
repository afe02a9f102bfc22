package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/hive-swarm/hive/node"
)

// DefaultEntrySize is the size of one baseline log entry: about the size of
// an encoded create-work-order command.
const DefaultEntrySize = 200

// RaftClusterConfig configures a bare raft cluster.
type RaftClusterConfig struct {
	Nodes int    // number of voters; default 3
	Dir   string // required; node i keeps its stores under Dir/raft<i>
	// Timeouts are the raft timings, as in a node's configuration; zero
	// fields take a node's defaults. The raft.Config, the stores and the
	// transport are then built by package node's own constructors
	// (node.NewRaftConfig, node.OpenRaftStores, node.NewRaftTransport),
	// so the baseline differs from a Hive node only in its FSM.
	Timeouts node.RaftTimeouts
	Logger   hclog.Logger // default: a null logger
}

// RaftCluster is N hashicorp/raft voters in this process with the stores,
// transport and raft settings of a Hive node: a raft-boltdb/v2 log and
// stable store behind a log cache, a FileSnapshotStore and a TCP
// NetworkTransport on 127.0.0.1. Its FSM only counts entries, so what it
// measures is the cost of consensus and the stores alone.
type RaftCluster struct {
	nodes  []*raftNode
	leader atomic.Pointer[raftNode]
	once   sync.Once
	err    error
}

type raftNode struct {
	id     raft.ServerID
	raft   *raft.Raft
	fsm    *countingFSM
	stores *node.RaftStores
	trans  *raft.NetworkTransport
}

// StartRaftCluster starts cfg.Nodes voters, bootstraps them as one
// cluster and waits, until ctx is done, for a leader. On error nothing is
// left running.
func StartRaftCluster(ctx context.Context, cfg RaftClusterConfig) (c *RaftCluster, err error) {
	if cfg.Dir == "" {
		return nil, errors.New("bench: RaftClusterConfig.Dir is required")
	}
	if cfg.Nodes == 0 {
		cfg.Nodes = 3
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	c = &RaftCluster{}
	defer func() {
		if err != nil {
			_ = c.Shutdown()
			c = nil
		}
	}()
	var servers []raft.Server
	for i := range cfg.Nodes {
		n, err := openRaftNode(cfg, i)
		if err != nil {
			return c, err
		}
		c.nodes = append(c.nodes, n)
		servers = append(servers, raft.Server{ID: n.id, Address: n.trans.LocalAddr()})
	}
	for _, n := range c.nodes {
		rc := RaftConfig(cfg.Timeouts, string(n.id), cfg.Logger.Named(string(n.id)))
		if err := raft.ValidateConfig(rc); err != nil {
			return c, fmt.Errorf("bench: raft config: %w", err)
		}
		s := n.stores
		if err := raft.BootstrapCluster(rc, s.Log, s.Bolt, s.Snapshots, n.trans, raft.Configuration{Servers: servers}); err != nil {
			return c, fmt.Errorf("bench: bootstrap %s: %w", n.id, err)
		}
		r, err := raft.NewRaft(rc, n.fsm, s.Log, s.Bolt, s.Snapshots, n.trans)
		if err != nil {
			return c, fmt.Errorf("bench: start %s: %w", n.id, err)
		}
		n.raft = r
	}
	if _, err := c.WaitLeader(ctx); err != nil {
		return c, err
	}
	return c, nil
}

// RaftConfig returns the raft.Config of the baseline's node named id: the
// one a Hive node with these timings runs with (node.NewRaftConfig).
func RaftConfig(t node.RaftTimeouts, id string, logger hclog.Logger) *raft.Config {
	cfg := node.DefaultConfig()
	cfg.Name, cfg.RaftTimeouts, cfg.Logger = id, t, logger
	rc := node.NewRaftConfig(cfg)
	rc.Logger = logger
	return rc
}

func openRaftNode(cfg RaftClusterConfig, i int) (*raftNode, error) {
	id := raft.ServerID(fmt.Sprintf("raft%d", i))
	logger := cfg.Logger.Named(string(id))
	stores, err := node.OpenRaftStores(filepath.Join(cfg.Dir, string(id)), logger)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = stores.Close()
		return nil, fmt.Errorf("bench: listen: %w", err)
	}
	trans := node.NewRaftTransport(ln, nil, logger)
	return &raftNode{id: id, fsm: &countingFSM{}, stores: stores, trans: trans}, nil
}

// WaitLeader waits until one node is leader and returns its index.
func (c *RaftCluster) WaitLeader(ctx context.Context) (int, error) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		for i, n := range c.nodes {
			if n.raft != nil && n.raft.State() == raft.Leader {
				c.leader.Store(n)
				return i, nil
			}
		}
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("bench: no raft leader: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// Apply proposes data as one log entry on the current leader and waits
// until it is committed and applied there. A proposal that fails because
// leadership moved returns raft's error (ErrNotLeader, ErrLeadershipLost);
// the next call goes to the new leader.
func (c *RaftCluster) Apply(ctx context.Context, data []byte) error {
	n := c.leader.Load()
	if n == nil || n.raft.State() != raft.Leader {
		i, err := c.WaitLeader(ctx)
		if err != nil {
			return err
		}
		n = c.nodes[i]
	}
	var timeout time.Duration
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	err := n.raft.Apply(data, timeout).Error()
	if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
		c.leader.CompareAndSwap(n, nil)
	}
	return err
}

// Applied returns how many entries each node's FSM has applied.
func (c *RaftCluster) Applied() []uint64 {
	out := make([]uint64, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = n.fsm.count.Load()
	}
	return out
}

// Len returns the number of nodes.
func (c *RaftCluster) Len() int { return len(c.nodes) }

// Shutdown stops every node, closes its transport and stores, and waits
// for raft's goroutines to exit. It is safe to call more than once.
func (c *RaftCluster) Shutdown() error {
	c.once.Do(func() {
		var errs []error
		for _, n := range c.nodes {
			if n.raft != nil {
				errs = append(errs, n.raft.Shutdown().Error()) // also closes the transport's listener
			} else {
				errs = append(errs, n.trans.Close())
			}
		}
		// Closing the transports leaves pooled outbound connections open,
		// and with them the peers' handlers reading from them; closing our
		// end lets every handler see EOF and exit.
		for _, n := range c.nodes {
			n.trans.CloseStreams()
		}
		for _, n := range c.nodes {
			errs = append(errs, n.stores.Close())
		}
		c.err = errors.Join(errs...)
	})
	return c.err
}

// countingFSM counts the entries applied to it; the entries' content is
// ignored. Its snapshot is the count.
type countingFSM struct {
	count atomic.Uint64
}

var _ raft.FSM = (*countingFSM)(nil)

// Apply implements raft.FSM.
func (f *countingFSM) Apply(*raft.Log) interface{} {
	return f.count.Add(1)
}

// Snapshot implements raft.FSM.
func (f *countingFSM) Snapshot() (raft.FSMSnapshot, error) {
	return countSnapshot(f.count.Load()), nil
}

// Restore implements raft.FSM.
func (f *countingFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var b [8]byte
	if _, err := io.ReadFull(rc, b[:]); err != nil {
		return err
	}
	f.count.Store(binary.BigEndian.Uint64(b[:]))
	return nil
}

type countSnapshot uint64

// Persist implements raft.FSMSnapshot.
func (s countSnapshot) Persist(sink raft.SnapshotSink) error {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(s))
	if _, err := sink.Write(b[:]); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

// Release implements raft.FSMSnapshot.
func (countSnapshot) Release() {}

// Payload returns size bytes of filler for a baseline entry.
func Payload(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

// Op returns an Op that proposes payload as one new log entry per call and
// waits for it to commit: the baseline's one proposal per entry.
func (c *RaftCluster) Op(payload []byte) Op {
	return func(ctx context.Context, _ int) error {
		return c.Apply(ctx, payload)
	}
}
