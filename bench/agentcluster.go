package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/node"
	"github.com/hive-swarm/hive/plugins"
)

// agentCluster describes a throwaway cluster of nodes in this process that
// offer the test agent, as the dispatch, failover and stream benches run.
type agentCluster struct {
	Size      int
	Dir       string // node i keeps its data in Dir/node<i>
	PluginDir string // holds hive-agent-test
	Capacity  int    // test agent slots per node
	Logger    hclog.Logger
	// Tune, when not nil, adjusts each node's configuration last.
	Tune func(*node.Config)
	// OnStarted, when not nil, is called with each node right after it
	// has started.
	OnStarted func(*node.Node)
}

// startAgentCluster starts c.Size nodes on 127.0.0.1, joined and
// bootstrapped together with fast gossip, and waits for a leader they all
// agree on and for every node to offer the test agent with c.Capacity
// slots. It returns the nodes started, also on error (the caller shuts
// them down).
func startAgentCluster(ctx context.Context, c agentCluster) ([]*node.Node, error) {
	var nodes []*node.Node
	for i := range c.Size {
		nc := node.DefaultConfig()
		nc.Name = fmt.Sprintf("node%d", i+1)
		nc.DataDir = filepath.Join(c.Dir, nc.Name)
		nc.BindAddr, nc.AdvertiseAddr = "127.0.0.1", "127.0.0.1"
		nc.HTTPPort, nc.RaftPort, nc.GossipPort = 0, 0, 0
		nc.BootstrapExpect = c.Size
		nc.PluginDir = c.PluginDir
		nc.Agents = map[string]plugins.AgentConfig{"test": {Capacity: c.Capacity}}
		nc.Gossip.GossipInterval = 50 * time.Millisecond
		nc.Gossip.RetryJoinInterval = 200 * time.Millisecond
		nc.Execution.MetaInterval = 100 * time.Millisecond
		nc.Logger = c.Logger.Named(nc.Name)
		if i > 0 {
			nc.Join = []string{nodes[0].GossipAddr()}
		}
		if c.Tune != nil {
			c.Tune(&nc)
		}
		n, err := node.New(nc)
		if err != nil {
			return nodes, fmt.Errorf("bench: node %s: %w", nc.Name, err)
		}
		if err := n.Start(ctx); err != nil {
			return nodes, fmt.Errorf("bench: start %s: %w", nc.Name, err)
		}
		if c.OnStarted != nil {
			c.OnStarted(n)
		}
		nodes = append(nodes, n)
	}
	err := poll(ctx, 60*time.Second, func() error {
		leader := ""
		for _, n := range nodes {
			name, _, _ := n.Leader()
			if name == "" || (leader != "" && name != leader) {
				return errors.New("no leader all nodes agree on")
			}
			leader = name
		}
		members := nodes[0].Members()
		if len(members) != len(nodes) {
			return errors.New("not every node is a member yet")
		}
		for _, m := range members {
			if !offersTest(m.AgentTypes, c.Capacity) {
				return fmt.Errorf("%s offers %+v", m.Name, m.AgentTypes)
			}
		}
		return nil
	})
	return nodes, err
}

// offersTest reports whether slots hold the test agent type with capacity
// slots (the plugin directory may offer other types besides).
func offersTest(slots []api.AgentSlot, capacity int) bool {
	for _, sl := range slots {
		if sl.Type == "test" {
			return sl.Capacity == capacity
		}
	}
	return false
}

// shutdownNodes shuts nodes down in parallel, each within 30s, skipping
// node i where down[i] (down may be nil: none is down), and waits for
// them all.
func shutdownNodes(nodes []*node.Node, down []bool) {
	var wg sync.WaitGroup
	for i, n := range nodes {
		if i < len(down) && down[i] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = n.Shutdown(sctx)
		}()
	}
	wg.Wait()
}
