// Package node runs one Hive peer: it wires the replicated state machine
// (fsm) to raft, finds and watches the other peers with gossip, runs the
// leader's membership loop, and offers the one write path (Propose) and
// the read path (View) the HTTP API is built on.
//
// Lifecycle: New validates the configuration; Start listens (HTTP, raft,
// gossip), starts raft and joins; Leave departs gracefully; Shutdown stops
// everything without telling anyone (the others see a failure).
package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/fsm"
	"github.com/hive-swarm/hive/gossip"
	"github.com/hive-swarm/hive/plugins"
)

// Node is one running peer. Its methods are safe for concurrent use.
type Node struct {
	cfg    Config
	logger hclog.Logger
	logs   *logRing // the logger's recent lines
	fsm    *fsm.FSM

	dataDir   string // resolved data dir (a temporary one in dev mode)
	advertise string // advertised IP

	httpListener net.Listener
	httpAddr     string         // advertised HTTP address
	http         *httpServer    // the HTTP layer (http.go); nil until startHTTP
	obs          *observability // event broker and metrics (events.go); nil until Start

	transport  *raft.NetworkTransport
	store      *raftboltdb.BoltStore
	raft       *raft.Raft
	raftAddr   string    // advertised raft address
	hadState   bool      // raft found existing state at start
	leaderCh   chan bool // raft's NotifyCh
	raftHasCfg atomic.Bool

	gossip       *gossip.Gossip
	gossipEvents chan gossip.Event

	reconcileCh chan struct{} // wakes the leader loop; capacity 1
	bootstrapCh chan struct{} // wakes the bootstrap loop; capacity 1
	schedCh     chan struct{} // wakes the scheduling loop; capacity 1
	metaCh      chan struct{} // asks metaLoop to gossip the agent slots; capacity 1
	schedPasses atomic.Uint64 // passes the scheduling loop started on this node (see passCounter)

	plugins    *plugins.Manager   // this node's agent plugins
	exec       *executor          // runs the work orders assigned to this node
	execCtx    context.Context    // ends at shutdown: the runs of the executor
	execCancel context.CancelFunc // ends execCtx
	execClient *api.Client        // this node's own HTTP API, for the executor's reports
	execHTTP   *http.Client       // execClient's HTTP client

	proposeCh chan *proposal
	inflight  chan struct{} // semaphore of coalesced entries in flight

	readyMu sync.Mutex
	ready   chan struct{} // closed once the leader may serve linearizable reads

	startOnce     sync.Once
	started       atomic.Bool
	shutdownCh    chan struct{} // closed when shutdown begins
	shutdownMu    sync.Mutex
	shutdownBegun bool
	shutdownDone  chan struct{} // closed when shutdown has finished
	shutdownErr   error
	wg            sync.WaitGroup
}

// New checks cfg and prepares a node. Nothing listens until Start.
func New(cfg Config) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	logger := cfg.Logger
	if logger == nil {
		logger = hclog.New(&hclog.LoggerOptions{Name: "hive", Level: hclog.Info})
	}
	logs := newLogRing(logRingSize) // recent lines for GET /v1/agent/logs
	logger = logs.wrap(logger)
	cfg.Logger = logger
	pm, err := newPlugins(&cfg)
	if err != nil {
		return nil, err
	}
	execCtx, execCancel := context.WithCancel(context.Background())
	n := &Node{
		execCtx:      execCtx,
		execCancel:   execCancel,
		plugins:      pm,
		schedCh:      make(chan struct{}, 1),
		metaCh:       make(chan struct{}, 1),
		cfg:          cfg,
		logger:       logger,
		logs:         logs,
		fsm:          fsm.New(cfg.FSM),
		leaderCh:     make(chan bool, 16),
		gossipEvents: make(chan gossip.Event, 256),
		reconcileCh:  make(chan struct{}, 1),
		bootstrapCh:  make(chan struct{}, 1),
		proposeCh:    make(chan *proposal, cfg.RaftTimeouts.ProposeBatchMax),
		inflight:     make(chan struct{}, cfg.RaftTimeouts.ProposeInflight),
		ready:        make(chan struct{}),
		shutdownCh:   make(chan struct{}),
		shutdownDone: make(chan struct{}),
	}
	n.exec = newExecutor(n)
	return n, nil
}

// Start listens on the HTTP port, starts raft and gossip, joins the
// configured members (retrying in the background until it succeeds), and
// serves the HTTP API. Start may be called once; on error the node is shut
// down.
func (n *Node) Start(ctx context.Context) (err error) {
	err = errors.New("node: already started")
	n.startOnce.Do(func() {
		err = n.start(ctx)
		if err != nil {
			_ = n.Shutdown(context.Background())
		}
	})
	return err
}

func (n *Node) start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-n.shutdownCh:
		return ErrShutdown
	default:
	}
	n.started.Store(true)
	if err := n.setupDataDir(); err != nil {
		return err
	}
	ip, err := n.cfg.advertiseIP()
	if err != nil {
		return err
	}
	n.advertise = ip

	ln, err := net.Listen("tcp", gossip.HostPort(n.cfg.BindAddr, n.cfg.HTTPPort))
	if err != nil {
		return fmt.Errorf("node: listen http: %w", err)
	}
	n.httpListener = ln
	n.httpAddr = gossip.HostPort(ip, ln.Addr().(*net.TCPAddr).Port)

	if err := n.setupRaft(); err != nil {
		return err
	}
	if err := n.startPlugins(ctx); err != nil {
		return err
	}
	if err := n.setupGossip(); err != nil {
		return err
	}
	n.execHTTP = &http.Client{Transport: newExecTransport()}
	n.execClient, err = api.NewClient(&api.Config{
		Address:     "http://" + n.httpAddr,
		HTTPClient:  n.execHTTP,
		Timeout:     n.cfg.RaftTimeouts.ApplyTimeout + 5*time.Second,
		MaxAttempts: 3,
	})
	if err != nil {
		return fmt.Errorf("node: executor client: %w", err)
	}

	n.goFunc(n.monitorLeadership)
	n.goFunc(n.handleGossipEvents)
	n.goFunc(n.proposer)
	n.goFunc(n.metaLoop)
	n.goFunc(func() { n.exec.run(n.execCtx) })
	if !n.hadState {
		n.goFunc(n.bootstrapLoop)
	}
	if len(n.cfg.Join) > 0 {
		n.goFunc(n.retryJoin)
	}
	n.startObservability()
	if err := n.startHTTP(); err != nil {
		return fmt.Errorf("node: start http: %w", err)
	}
	n.logger.Info("node started", "name", n.cfg.Name, "http", n.httpAddr, "raft", n.raftAddr,
		"gossip", n.gossip.Addr(), "data_dir", n.dataDir, "existing_state", n.hadState)
	return nil
}

func (n *Node) setupDataDir() error {
	if n.cfg.Dev && n.cfg.DataDir == "" {
		dir, err := os.MkdirTemp("", "hive-dev-")
		if err != nil {
			return fmt.Errorf("node: dev data dir (-dev without --data-dir makes one in the system's temporary directory): %w", err)
		}
		n.dataDir = dir
		return nil
	}
	if err := os.MkdirAll(n.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("node: data dir: %w", err)
	}
	n.dataDir = n.cfg.DataDir
	if tmp := n.cfg.pluginTempDir(); tmp != "" {
		// Nothing in it outlives the plugin processes that made it.
		if err := os.RemoveAll(tmp); err != nil {
			return fmt.Errorf("node: emptying the plugins' temporary directory: %w", err)
		}
		if err := os.Mkdir(tmp, 0o700); err != nil {
			return fmt.Errorf("node: plugins' temporary directory: %w", err)
		}
	}
	return nil
}

// goFunc runs f on a goroutine that Shutdown waits for.
func (n *Node) goFunc(f func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
}

// Shutdown stops the node without leaving: HTTP, gossip and raft stop, and
// the others will see this node fail. It waits for every goroutine the
// node started, or until ctx is done. A later or concurrent call waits for
// the first one (or its own ctx) and returns its result. In dev mode the
// temporary data dir is removed.
func (n *Node) Shutdown(ctx context.Context) error {
	if n.beginShutdown() {
		return n.finishShutdown(ctx)
	}
	select {
	case <-n.shutdownDone:
		return n.shutdownErr
	case <-ctx.Done():
		return fmt.Errorf("node: waiting for shutdown: %w", ctx.Err())
	}
}

// beginShutdown reports whether the caller is the one to shut down.
func (n *Node) beginShutdown() bool {
	n.shutdownMu.Lock()
	defer n.shutdownMu.Unlock()
	if n.shutdownBegun {
		return false
	}
	n.shutdownBegun = true
	return true
}

func (n *Node) finishShutdown(ctx context.Context) error {
	n.shutdownErr = n.shutdown(ctx)
	close(n.shutdownDone)
	return n.shutdownErr
}

func (n *Node) shutdown(ctx context.Context) error {
	n.logger.Info("shutting down", "name", n.cfg.Name)
	close(n.shutdownCh)
	n.execCancel()
	var errs []error
	if n.httpListener != nil {
		if err := n.stopHTTP(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop http: %w", err))
		}
		_ = n.httpListener.Close()
	}
	if n.gossip != nil {
		if err := n.gossip.Shutdown(); err != nil {
			errs = append(errs, err)
		}
	}
	if n.raft != nil {
		if err := n.raft.Shutdown().Error(); err != nil {
			errs = append(errs, fmt.Errorf("raft shutdown: %w", err))
		}
	}
	if n.transport != nil {
		_ = n.transport.Close()
	}
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("waiting for goroutines: %w", ctx.Err()))
	}
	if err := n.plugins.Close(); err != nil {
		errs = append(errs, fmt.Errorf("stop plugins: %w", err))
	}
	if n.execHTTP != nil {
		n.execHTTP.CloseIdleConnections()
	}
	if n.store != nil {
		if err := n.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close raft store: %w", err))
		}
	}
	if n.cfg.Dev && n.cfg.DataDir == "" && n.dataDir != "" {
		if err := os.RemoveAll(n.dataDir); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("node: shutdown: %w", errors.Join(errs...))
	}
	return nil
}

// isShutdown reports whether Shutdown has begun.
func (n *Node) isShutdown() bool {
	select {
	case <-n.shutdownCh:
		return true
	default:
		return false
	}
}

// Name is this node's name (its raft server ID).
func (n *Node) Name() string { return n.cfg.Name }

// Config returns the node's configuration with defaults filled in.
func (n *Node) Config() Config { return n.cfg }

// Logger is the node's logger.
func (n *Node) Logger() hclog.Logger { return n.logger }

// HTTPAddr is the address (host:port) this node's HTTP API is reached
// at: the advertised IP with the bound port, so port 0 shows the port
// actually chosen. It is what the node gossips to the others. Empty
// before Start.
func (n *Node) HTTPAddr() string { return n.httpAddr }

// HTTPListener is the listener Start opened on BindAddr:HTTPPort; the
// HTTP layer serves on it. Nil before Start.
func (n *Node) HTTPListener() net.Listener { return n.httpListener }

// RaftAddr is the advertised raft address. Empty before Start.
func (n *Node) RaftAddr() string { return n.raftAddr }

// GossipAddr is the advertised gossip address other nodes join. Empty
// before Start.
func (n *Node) GossipAddr() string {
	if n.gossip == nil {
		return ""
	}
	return n.gossip.Addr()
}

// DataDir is the directory holding this node's raft data.
func (n *Node) DataDir() string { return n.dataDir }

// FSM is the node's state machine. Read it through View; never apply to
// it directly.
func (n *Node) FSM() *fsm.FSM { return n.fsm }

// IsLeader reports whether this node is currently the raft leader.
func (n *Node) IsLeader() bool {
	return n.raft != nil && n.raft.State() == raft.Leader
}

// Leader returns the current leader's name, raft address and HTTP address
// (from its gossip metadata; "" if unknown). All are "" when no leader is
// known.
func (n *Node) Leader() (name, raftAddr, httpAddr string) {
	if n.raft == nil {
		return "", "", ""
	}
	addr, id := n.raft.LeaderWithID()
	if id == "" {
		return "", "", ""
	}
	name, raftAddr = string(id), string(addr)
	if name == n.cfg.Name {
		return name, raftAddr, n.httpAddr
	}
	if n.gossip == nil {
		return name, raftAddr, ""
	}
	if m, ok := n.gossip.Member(name); ok {
		httpAddr = m.Meta.HTTPAddr
	}
	return name, raftAddr, httpAddr
}
