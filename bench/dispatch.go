package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/fsm"
	"github.com/hive-swarm/hive/node"
)

// DispatchConfig configures RunDispatch.
type DispatchConfig struct {
	Nodes int    // nodes of the cluster; default 3
	Dir   string // required: node i keeps its data under Dir/node<i>
	// PluginDir must hold hive-agent-test (make build puts it in bin/).
	PluginDir string
	// Capacity is the test agent's slots per node; default 64.
	Capacity int
	// WorkOrders is how many work orders go through; default 10000.
	WorkOrders int
	// Clients is how many concurrent HTTP clients create them; default 64.
	Clients int
	// Window bounds the work orders created but not completed yet, so
	// that latency measures dispatch rather than a growing queue;
	// default 4096.
	Window int
	// Batch is how many work orders each client creates per request: 1
	// (the default) sends one POST /v1/workorders per work order, more
	// sends POST /v1/workorders/batch with up to Batch of them (at most
	// api.MaxBatchWorkOrders, and at most Window: the window counts work
	// orders, so a client takes the slots of a whole batch before sending
	// it).
	Batch   int
	Timeout time.Duration // of one create request; default 10s
	Logger  hclog.Logger  // the nodes' logger; default: warnings to stderr
	// OnStarted, when not nil, is called with each node of the cluster
	// as soon as it has started (its HTTP API serves).
	OnStarted func(*node.Node)
}

// DispatchResult is what RunDispatch measured.
type DispatchResult struct {
	Nodes      int           `json:"nodes"`
	Capacity   int           `json:"capacity_per_node"`
	Batch      int           `json:"batch"` // work orders per create request (1: POST /v1/workorders)
	WorkOrders int           `json:"workorders"`
	Completed  int           `json:"completed"`
	Failed     int           `json:"failed"`
	CreateErrs uint64        `json:"create_errors"`
	Elapsed    time.Duration `json:"elapsed_ns"` // first create sent to last completion applied
	// Latency runs from sending a create to the completion's receipt
	// applied on node 0.
	Latency Latency `json:"create_to_complete"`
	// CPU is the CPU time this process (the nodes and the load
	// generator) used from the first create to the last completion;
	// PluginCPU that of the agent plugin processes (Linux only, else 0).
	CPU       time.Duration `json:"cpu_ns"`
	PluginCPU time.Duration `json:"plugin_cpu_ns"`
}

// CPUPerWorkOrder is the CPU time, of this process and the plugin
// processes together, per work order that ended (0 when none did).
func (r *DispatchResult) CPUPerWorkOrder() time.Duration {
	n := r.Completed + r.Failed
	if n == 0 {
		return 0
	}
	return (r.CPU + r.PluginCPU) / time.Duration(n)
}

// PerSec is completed work orders per second.
func (r *DispatchResult) PerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Completed) / r.Elapsed.Seconds()
}

func (c *DispatchConfig) withDefaults() DispatchConfig {
	d := *c
	if d.Nodes <= 0 {
		d.Nodes = 3
	}
	if d.Capacity <= 0 {
		d.Capacity = 64
	}
	if d.WorkOrders <= 0 {
		d.WorkOrders = 10_000
	}
	if d.Clients <= 0 {
		d.Clients = 64
	}
	if d.Window <= 0 {
		d.Window = 4096
	}
	if d.Batch <= 0 {
		d.Batch = 1
	}
	if d.Timeout <= 0 {
		d.Timeout = 10 * time.Second
	}
	if d.Logger == nil {
		d.Logger = hclog.New(&hclog.LoggerOptions{Name: "hive", Level: hclog.Warn})
	}
	return d
}

// RunDispatch starts a throwaway cluster of cfg.Nodes nodes in this
// process (real raft, gossip, HTTP and plugin processes on 127.0.0.1),
// turns its WIP limits and leveling off, then sends cfg.WorkOrders work
// orders of type "test" with a no-op payload through the HTTP API, spread
// over the nodes, and waits until each has been assigned by the leader,
// run by a node's test agent and completed. It reports completions per
// second and the create-to-complete latency.
func RunDispatch(ctx context.Context, cfg DispatchConfig) (*DispatchResult, error) {
	c := cfg.withDefaults()
	if c.Dir == "" || c.PluginDir == "" {
		return nil, errors.New("bench: dispatch needs Dir and PluginDir")
	}
	if c.Batch > api.MaxBatchWorkOrders || c.Batch > c.Window {
		return nil, fmt.Errorf("bench: a batch of %d: want at most %d and at most the window (%d)", c.Batch, api.MaxBatchWorkOrders, c.Window)
	}
	nodes, err := startDispatchCluster(ctx, &c)
	defer func() { shutdownNodes(nodes, nil) }()
	if err != nil {
		return nil, err
	}
	hosts := make([]string, len(nodes))
	for i, n := range nodes {
		hosts[i] = n.HTTPAddr()
	}
	if err := unlimitScheduler(ctx, nodes); err != nil {
		return nil, err
	}
	return measureDispatch(ctx, &c, nodes[0], hosts)
}

// startDispatchCluster starts the dispatch bench's nodes (see
// startAgentCluster). It returns the nodes started, also on error (the
// caller shuts them down).
func startDispatchCluster(ctx context.Context, c *DispatchConfig) ([]*node.Node, error) {
	return startAgentCluster(ctx, agentCluster{Size: c.Nodes, Dir: c.Dir, PluginDir: c.PluginDir, Capacity: c.Capacity, Logger: c.Logger, OnStarted: c.OnStarted})
}

// unlimitScheduler turns the WIP limits and leveling off, so the bench
// measures dispatch, not the policy. It commits the config on the leader
// directly (the cluster runs in this process).
func unlimitScheduler(ctx context.Context, nodes []*node.Node) error {
	return poll(ctx, 30*time.Second, func() error {
		for _, n := range nodes {
			if !n.IsLeader() {
				continue
			}
			cfg := fsm.DefaultSchedulerConfig()
			cfg.StageWIP, cfg.BucketWIP, cfg.Mix = nil, nil, nil
			res, err := n.ProposeControl(ctx, []fsm.Command{&fsm.SetSchedulerConfig{Config: cfg}})
			if err != nil {
				return err
			}
			return res[0].Err
		}
		return errors.New("no leader")
	})
}

// measureDispatch creates the work orders and follows their completions
// on watch's receipt chain.
func measureDispatch(ctx context.Context, c *DispatchConfig, watch *node.Node, hosts []string) (*DispatchResult, error) {
	runID := strconv.FormatInt(time.Now().UnixNano(), 36)
	prefix := "dispatch " + runID + " #"
	sent := make([]atomic.Int64, c.WorkOrders) // send time (Unix ns) by number
	window := make(chan struct{}, c.Window)
	res := &DispatchResult{Nodes: len(hosts), Capacity: c.Capacity, WorkOrders: c.WorkOrders, Batch: c.Batch}
	hist := NewHistogram()

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	fail := func(err error) { cancel(err) }
	watchDone := make(chan error, 1)
	fromSeq := watch.FSM().View().ReceiptCount() + 1
	var last time.Time
	var endSelf, endPlugins time.Duration
	go func() {
		watchDone <- followCompletions(ctx, watch, fromSeq, prefix, func(n int, failed bool) {
			now := time.Now()
			if failed {
				res.Failed++
			} else {
				res.Completed++
			}
			hist.Record(now.Sub(time.Unix(0, sent[n].Load())))
			last = now
			if res.Completed+res.Failed == c.WorkOrders {
				endSelf, endPlugins = processCPU()
			}
			<-window
		}, c.WorkOrders)
	}()

	path := "/v1/workorders"
	if c.Batch > 1 {
		path = "/v1/workorders/batch"
	}
	raw := newRawClient(hosts, path, c.Clients, c.Timeout)
	defer raw.Close()
	var next atomic.Int64
	var errCount atomic.Uint64
	// take waits for k slots of the window. A batch takes all its slots
	// before any other client takes one, so that clients holding part of
	// a batch each cannot wait for one another for ever.
	var taking sync.Mutex
	take := func(k int) bool {
		if k > 1 {
			taking.Lock()
			defer taking.Unlock()
		}
		for range k {
			select {
			case window <- struct{}{}:
			case <-ctx.Done():
				return false
			}
		}
		return true
	}
	startSelf, startPlugins := processCPU()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range c.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var body []byte
			for {
				first := int(next.Add(int64(c.Batch)) - int64(c.Batch))
				if first >= c.WorkOrders || ctx.Err() != nil {
					return
				}
				k := min(c.Batch, c.WorkOrders-first)
				if !take(k) {
					return
				}
				body = dispatchBody(body[:0], prefix, runID, first, k, c.Batch > 1)
				now := time.Now().UnixNano()
				for n := first; n < first+k; n++ {
					sent[n].Store(now)
				}
				for ctx.Err() == nil {
					// The answer of a batch is not read: these creates
					// (no dependencies, no parent) cannot be refused one
					// by one once the batch is accepted.
					status, answer, err := raw.post(ctx, w, first/c.Batch%len(hosts), body)
					if err == nil && status == http.StatusCreated {
						break
					}
					if err == nil && status < 500 {
						fail(fmt.Errorf("bench: create refused: %w", statusError(status, answer)))
						return
					}
					errCount.Add(1) // retried with the same request IDs
					time.Sleep(10 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	err := <-watchDone
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause
	}
	res.CreateErrs = errCount.Load()
	res.Elapsed = last.Sub(start)
	res.Latency = hist.Summary()
	if endSelf > 0 {
		res.CPU, res.PluginCPU = endSelf-startSelf, max(endPlugins-startPlugins, 0)
	}
	return res, err
}

// dispatchBody appends the body creating work orders first..first+k-1:
// one create, or a batch of k.
func dispatchBody(b []byte, prefix, runID string, first, k int, batch bool) []byte {
	if batch {
		b = append(b, `{"workorders":[`...)
	}
	for n := first; n < first+k; n++ {
		if n > first {
			b = append(b, ',')
		}
		b = append(b, `{"title":"`...)
		b = append(b, prefix...)
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, `","type":"test","payload":{"mode":"noop"},"request_id":"dispatch-`...)
		b = append(b, runID...)
		b = append(b, '-')
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, `"}`...)
	}
	if batch {
		b = append(b, "]}"...)
	}
	return b
}

// followCompletions reads watch's receipt chain from seq on and calls
// done for every work order whose title starts with prefix when it
// completes or fails, until want have ended or ctx ends.
func followCompletions(ctx context.Context, watch *node.Node, seq uint64, prefix string, done func(n int, failed bool), want int) error {
	f := watch.FSM()
	ended := 0
	for ended < want {
		v := f.View()
		for _, r := range v.Receipts(fsm.ReceiptQuery{FromSeq: seq, Limit: fsm.MaxReceiptLimit}) {
			seq = r.Seq + 1
			if r.Event != fsm.EventCompleted && r.Event != fsm.EventFailed {
				continue
			}
			wo, err := v.WorkOrder(r.WorkOrder)
			if err != nil || !strings.HasPrefix(wo.Title, prefix) {
				continue
			}
			n, err := strconv.Atoi(wo.Title[len(prefix):])
			if err != nil {
				continue
			}
			done(n, r.Event == fsm.EventFailed)
			ended++
		}
		if ended >= want {
			return nil
		}
		if err := f.WaitForIndex(ctx, v.Index()+1); err != nil {
			return fmt.Errorf("bench: %d of %d work orders ended: %w", ended, want, err)
		}
	}
	return nil
}

// poll calls cond every 50ms until it returns nil, timeout passes or ctx
// ends.
func poll(ctx context.Context, timeout time.Duration, cond func() error) error {
	return pollEvery(ctx, timeout, 50*time.Millisecond, cond)
}
