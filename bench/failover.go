package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/hive-swarm/hive/fsm"
	"github.com/hive-swarm/hive/node"
)

// FailoverConfig configures RunFailover.
type FailoverConfig struct {
	Dir       string // required: each run's cluster keeps its data under Dir
	PluginDir string // required: holds hive-agent-test
	Runs      int    // runs of each kill; default 5
	// WorkOrders is how many sleeping work orders are in flight when the
	// node is killed; default 12 (4 slots on each of 3 nodes).
	WorkOrders int
	Sleep      time.Duration // how long each work order runs; default 3s
	// RequeueGrace, ProbeInterval, ProbeTimeout and SuspicionMult are the
	// nodes' redistribution and failure-detection settings; defaults 2s,
	// 200ms, 100ms and 3 (the fast test settings; `hive bench failover`
	// passes the node's defaults: 1s, 500ms, 250ms and 4).
	RequeueGrace  time.Duration
	ProbeInterval time.Duration
	ProbeTimeout  time.Duration
	SuspicionMult int
	Timeout       time.Duration // per run, for everything to complete; default 60s
	Logger        hclog.Logger  // the nodes' logger; default: errors to stderr
}

func (c *FailoverConfig) withDefaults() FailoverConfig {
	d := *c
	if d.Runs <= 0 {
		d.Runs = 5
	}
	if d.WorkOrders <= 0 {
		d.WorkOrders = 12
	}
	if d.Sleep <= 0 {
		d.Sleep = 3 * time.Second
	}
	if d.RequeueGrace <= 0 {
		d.RequeueGrace = 2 * time.Second
	}
	if d.ProbeInterval <= 0 {
		d.ProbeInterval = 200 * time.Millisecond
	}
	if d.ProbeTimeout <= 0 {
		d.ProbeTimeout = 100 * time.Millisecond
	}
	if d.SuspicionMult <= 0 {
		d.SuspicionMult = 3
	}
	if d.Timeout <= 0 {
		d.Timeout = time.Minute
	}
	if d.Logger == nil {
		d.Logger = hclog.New(&hclog.LoggerOptions{Name: "hive", Level: hclog.Error})
	}
	return d
}

// FailoverRun is one kill: which node, whether it led, how long until a
// write committed again, how long until the last of its running work
// orders was started again elsewhere, and the outcome of the work.
type FailoverRun struct {
	Killed     string        `json:"killed"`
	WasLeader  bool          `json:"was_leader"`
	Held       int           `json:"held"`           // work orders it was running
	KillTook   time.Duration `json:"kill_took_ns"`   // how long stopping it took (included in the times below)
	FirstWrite time.Duration `json:"first_write_ns"` // kill → first committed write on a survivor
	// APIWrite is kill → the answer to a write sent at the kill through
	// the HTTP API of a survivor with a default api.Client: failover plus
	// the client's retry backoff and the node's leader forwarding.
	APIWrite  time.Duration `json:"api_write_ns"`
	Restarted time.Duration `json:"restarted_ns"`     // kill → the last of its work orders assigned elsewhere
	Completed int           `json:"completed"`        // work orders completed (of WorkOrders)
	Lost      int           `json:"lost"`             // not completed within Timeout
	Doubled   int           `json:"doubly_completed"` // more than one completed receipt
}

// FailoverResult is every run of RunFailover.
type FailoverResult struct {
	WorkOrders   int           `json:"workorders"`
	RequeueGrace time.Duration `json:"requeue_grace_ns"`
	Probe        time.Duration `json:"probe_interval_ns"`
	Leader       []FailoverRun `json:"leader_kills"`
	Follower     []FailoverRun `json:"follower_kills"`
}

// RunFailover measures failover Runs times for each kind of kill: a
// fresh three-node cluster in this process (real raft, gossip, HTTP and
// test-agent plugin processes on 127.0.0.1) runs WorkOrders work orders
// that sleep; once the victim (the leader, or a follower) runs some, it
// is stopped without leaving (as a crash looks to the others). The run
// measures the time to the first write committed on a survivor and to
// the last of the victim's work orders assigned elsewhere, then waits
// for all work to complete and counts what was lost or completed twice
// (from the receipt chain).
func RunFailover(ctx context.Context, cfg FailoverConfig) (*FailoverResult, error) {
	c := cfg.withDefaults()
	if c.Dir == "" || c.PluginDir == "" {
		return nil, errors.New("bench: failover needs Dir and PluginDir")
	}
	res := &FailoverResult{WorkOrders: c.WorkOrders, RequeueGrace: c.RequeueGrace, Probe: c.ProbeInterval}
	for i := range c.Runs {
		for _, leader := range []bool{true, false} {
			dir := filepath.Join(c.Dir, fmt.Sprintf("run%d-%v", i, leader))
			r, err := failoverOnce(ctx, &c, dir, leader)
			if err != nil {
				return res, err
			}
			if leader {
				res.Leader = append(res.Leader, *r)
			} else {
				res.Follower = append(res.Follower, *r)
			}
		}
	}
	return res, nil
}

// failoverOnce runs one cluster and one kill.
func failoverOnce(ctx context.Context, c *FailoverConfig, dir string, killLeader bool) (*FailoverRun, error) {
	nodes, err := startFailoverCluster(ctx, c, dir)
	down := make([]bool, len(nodes))
	defer func() { shutdownNodes(nodes, down) }()
	if err != nil {
		return nil, err
	}
	leaderOf := func() *node.Node {
		for i, n := range nodes {
			if !down[i] && n.IsLeader() {
				return n
			}
		}
		return nil
	}
	var ids []string
	payload := fmt.Sprintf(`{"mode":"sleep","duration":%q}`, c.Sleep.String())
	for i := range c.WorkOrders {
		err := poll(ctx, 30*time.Second, func() error {
			l := leaderOf()
			if l == nil {
				return errors.New("no leader")
			}
			r, err := l.Propose(ctx, &fsm.CreateWorkOrder{Header: fsm.Header{RequestID: fmt.Sprintf("failover-%d", i)},
				Spec: fsm.WorkOrderSpec{Title: fmt.Sprintf("failover %d", i), Kind: "test", Payload: []byte(payload)}})
			if err != nil {
				return err
			}
			if r.Err != nil {
				return r.Err
			}
			ids = append(ids, r.WorkOrder.ID)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	// Pick the victim once it runs work.
	victim := -1
	held := map[string]uint64{} // id → attempt it ran
	err = poll(ctx, 30*time.Second, func() error {
		l := leaderOf()
		if l == nil {
			return errors.New("no leader")
		}
		v := l.FSM().View()
		for i, n := range nodes {
			if n.IsLeader() != killLeader {
				continue
			}
			as := v.Assigned(n.Name())
			if len(as) == 0 {
				continue
			}
			victim = i
			for _, wo := range as {
				held[wo.ID] = wo.Attempt
			}
			return nil
		}
		return errors.New("the victim runs nothing yet")
	})
	if err != nil {
		return nil, err
	}
	run := &FailoverRun{Killed: nodes[victim].Name(), WasLeader: killLeader, Held: len(held)}
	killed := time.Now()
	down[victim] = true
	// No leave: the others see it fail. A short deadline makes it a
	// crash rather than a drain: the HTTP server stops at once instead of
	// waiting for requests in flight, then gossip and raft stop.
	sctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_ = nodes[victim].Shutdown(sctx)
	cancel()
	run.KillTook = time.Since(killed)
	type apiResult struct {
		d   time.Duration
		err error
	}
	var survivor *node.Node
	for i, n := range nodes {
		if !down[i] {
			survivor = n
			break
		}
	}
	// The API write runs until it is done or apiCtx ends; a return before
	// its result is read cancels and waits for it.
	apiCtx, apiCancel := context.WithCancel(ctx)
	defer apiCancel()
	apiDone := make(chan apiResult, 1)
	go func() {
		d, err := apiWriteAfter(apiCtx, survivor.HTTPAddr(), killed, run.Killed)
		apiDone <- apiResult{d, err}
	}()

	// First committed write on a survivor.
	err = pollEvery(ctx, c.Timeout, time.Millisecond, func() error {
		for i, n := range nodes {
			if down[i] || !n.IsLeader() {
				continue
			}
			wctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			if _, err := n.Propose(wctx, &fsm.Tick{}); err != nil {
				return err
			}
			run.FirstWrite = time.Since(killed)
			return nil
		}
		return errors.New("no leader among the survivors")
	})
	if err != nil {
		apiCancel()
		<-apiDone
		return nil, err
	}
	ar := <-apiDone
	if ar.err != nil {
		return nil, ar.err
	}
	run.APIWrite = ar.d
	// The victim's work assigned elsewhere, then everything completed.
	restarted := map[string]bool{}
	_ = pollEvery(ctx, c.Timeout, 10*time.Millisecond, func() error {
		v := survivor.FSM().View()
		for id, attempt := range held {
			if restarted[id] {
				continue
			}
			if wo, err := v.WorkOrder(id); err == nil && wo.Attempt > attempt {
				restarted[id] = true
				run.Restarted = time.Since(killed)
			}
		}
		done := 0
		for _, id := range ids {
			if wo, err := v.WorkOrder(id); err == nil && wo.State == fsm.StateCompleted {
				done++
			}
		}
		if len(restarted) < len(held) || done < len(ids) {
			return fmt.Errorf("%d of %d restarted, %d of %d completed", len(restarted), len(held), done, len(ids))
		}
		return nil
	})
	v := survivor.FSM().View()
	for _, id := range ids {
		completions := 0
		for _, r := range v.Receipts(fsm.ReceiptQuery{WorkOrder: id, Limit: fsm.MaxReceiptLimit}) {
			if r.Event == fsm.EventCompleted {
				completions++
			}
		}
		switch {
		case completions == 0:
			run.Lost++
		case completions > 1:
			run.Doubled++
		}
		if completions > 0 {
			run.Completed++
		}
	}
	return run, ctx.Err()
}

// startFailoverCluster starts three nodes with the failover settings
// and waits for a leader and for every node to offer the test agent.
func startFailoverCluster(ctx context.Context, c *FailoverConfig, dir string) ([]*node.Node, error) {
	const size = 3
	return startAgentCluster(ctx, agentCluster{
		Size: size, Dir: dir, PluginDir: c.PluginDir, Logger: c.Logger,
		Capacity: max(1, (c.WorkOrders+size-1)/size),
		Tune: func(nc *node.Config) {
			nc.RequeueGrace = c.RequeueGrace
			nc.Gossip.ProbeInterval = c.ProbeInterval
			nc.Gossip.ProbeTimeout = c.ProbeTimeout
			nc.Gossip.SuspicionMult = c.SuspicionMult
		},
	})
}

// FailoverSummary is the median and maximum of a duration over runs.
type FailoverSummary struct {
	Median, Max time.Duration
}

// Summarize returns the median and maximum of f over runs.
func Summarize(runs []FailoverRun, f func(FailoverRun) time.Duration) FailoverSummary {
	if len(runs) == 0 {
		return FailoverSummary{}
	}
	ds := make([]time.Duration, len(runs))
	for i, r := range runs {
		ds[i] = f(r)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return FailoverSummary{Median: ds[len(ds)/2], Max: ds[len(ds)-1]}
}

// pollEvery calls cond every interval until it returns nil, timeout
// passes or ctx ends.
func pollEvery(ctx context.Context, timeout, interval time.Duration, cond func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := cond()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bench: waiting for the cluster: %w (last: %w)", ctx.Err(), err)
		case <-time.After(interval):
		}
	}
}
