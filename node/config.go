package node

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hive-swarm/hive/cluster"
	"github.com/hive-swarm/hive/fsm"
	"github.com/hive-swarm/hive/plugins"
)

// Config configures one Hive node. DefaultConfig fills every field;
// Validate is called first by New.
type Config struct {
	Name            string   // unique node name; default: hostname
	DataDir         string   // raft log, stable store and snapshots live under here
	BindAddr        string   // IP to listen on for HTTP, raft and gossip; default 0.0.0.0
	AdvertiseAddr   string   // IP other nodes reach this one at; default: first private IP, or BindAddr when it is specific
	HTTPPort        int      // default 7070; 0 picks a free port (tests)
	RaftPort        int      // default 7071; 0 picks a free port (tests)
	GossipPort      int      // default 7072; 0 picks a free port (tests)
	Join            []string // gossip addresses (HOST:PORT) of members to join at start
	BootstrapExpect int      // bootstrap once this many servers see each other; 1 = bootstrap alone
	Dev             bool     // one node, temporary data dir
	PluginDir       string   // directory of agent plugin binaries: hive-agent-<type> offers agent type <type>
	// Agents configures agent types by name (binary, arguments, the JSON
	// config sent with every task, capacity); a type without a Path takes
	// its binary from PluginDir. See plugins.AgentConfig.
	Agents map[string]plugins.AgentConfig
	// AgentCapacity is the capacity of an agent type that neither Agents
	// nor its plugin limits; default plugins.DefaultCapacity.
	AgentCapacity   int
	Execution       ExecutionTimings // the control loop's and the executor's pacing
	DeadServerGrace time.Duration    // a failed node is removed from the voters after being gone this long; default 2m
	RequeueGrace    time.Duration    // the leader requeues a dead, departed or unknown node's running work after this long; default 1s (cluster.DefaultRequeueGrace)
	MaxVoters       int              // voters kept among healthy nodes; default 5; odd; others are non-voters
	NonVoter        bool             // never make this node a voter (a read replica)
	RaftTimeouts    RaftTimeouts     // tightened in tests
	Gossip          GossipTimeouts
	GossipKey       []byte       // optional AES key (16, 24 or 32 bytes) encrypting gossip
	FSM             fsm.Config   // replicated rules (SLAs, ...); must be identical on every node
	EnableDebug     bool         // serve Go's profiler (net/http/pprof) under /debug/pprof/ on the HTTP API
	Logger          hclog.Logger // default: hclog.New at info level to stderr
}

// RaftTimeouts are the raft timing settings. Zero values take
// DefaultConfig's.
//
// The heartbeat timeout bounds leader failover: a follower starts an
// election once it has heard nothing for Heartbeat (checked at random
// times Heartbeat..2×Heartbeat apart), and with pre-vote the election
// succeeds only once a quorum of followers has given up on the old
// leader, so a crashed leader is replaced after about 1.5–2×Heartbeat.
// 500ms (half of hashicorp/raft's default) replaces it in about 1s; a
// follower starved of CPU cannot unseat a healthy leader (the other
// follower refuses its pre-vote), and the leader steps down only when a
// quorum has been silent for LeaderLease, its heartbeats going out every
// Heartbeat/10.
type RaftTimeouts struct {
	Heartbeat           time.Duration // default 500ms
	Election            time.Duration // default 500ms
	LeaderLease         time.Duration // default 250ms
	CommitTimeout       time.Duration // default 50ms
	SnapshotThreshold   uint64        // default 8192
	SnapshotInterval    time.Duration // default 120s
	TrailingLogs        uint64        // default 10240
	ReconcileInterval   time.Duration // how often the leader reconciles gossip members with the raft configuration; default 10s
	ProposeBatchMax     int           // max commands coalesced into one log entry; default 512
	ProposeInflight     int           // max coalesced entries in flight at once; default 2
	ApplyTimeout        time.Duration // how long a write waits for commit; default 10s
	ConsistentReadWait  time.Duration // how long a linearizable read waits for the leader check; default 5s
	ExpiryCheckInterval time.Duration // how often the leader looks for due memory TTLs; default 1s
	LeaveDrainTimeout   time.Duration // how long Leave waits to be removed from the configuration; default 10s
}

// ExecutionTimings pace the leader's scheduling loop and the executor
// that runs this node's work orders. Zero values take the defaults.
type ExecutionTimings struct {
	// ScheduleInterval is the longest the leader waits between scheduling
	// passes when nothing is committed; every commit starts one anyway.
	// Default 1s.
	ScheduleInterval time.Duration
	// ProgressInterval is the least time between two progress reports of
	// one running work order (each is a raft write); default 2s.
	ProgressInterval time.Duration
	// MetaInterval is the least time between two gossip updates of this
	// node's agent slots and load; default 500ms.
	MetaInterval time.Duration
	// ReportTimeout bounds how long the executor keeps retrying one
	// report (progress, complete, fail) while no leader answers; default 2m.
	ReportTimeout time.Duration
	// PluginStartTimeout bounds one start of a plugin; default
	// plugins.DefaultStartTimeout.
	PluginStartTimeout time.Duration
	// RunTimeout bounds one run of a work order on its agent (the work
	// order has no run deadline of its own); a run that takes longer is
	// cancelled and reported as a failure, which the work order's retry
	// policy may retry. Default 1h.
	RunTimeout time.Duration
	// SLAInterval is how often the leader looks for SLA warnings and
	// breaches; default 10s.
	SLAInterval time.Duration
	// BreakerThreshold is the number of consecutive failures of one agent
	// type on one node that stops the leader placing that type there;
	// default cluster.DefaultBreakerThreshold (5).
	BreakerThreshold int
	// BreakerCoolDown is how long such a circuit stays open before one
	// probe is placed; default cluster.DefaultBreakerCoolDown (30s).
	BreakerCoolDown time.Duration
}

// GossipTimeouts are the memberlist settings. Zero values take
// memberlist's LAN defaults.
type GossipTimeouts struct {
	ProbeInterval     time.Duration // default 1s
	ProbeTimeout      time.Duration // default 500ms
	GossipInterval    time.Duration // default 200ms
	PushPullInterval  time.Duration // default 30s
	SuspicionMult     int           // default 4
	TCPTimeout        time.Duration // default 10s
	RetryJoinInterval time.Duration // wait between attempts to join Config.Join; default 5s
	// DeadNodeReclaimTime lets a node that died come back under the same
	// name at a new address after this long; default 30s.
	DeadNodeReclaimTime time.Duration
}

// DefaultConfig returns a configuration for a production node: the
// standard ports on all interfaces, the host name as node name, raft
// timings tightened for a LAN (see RaftTimeouts) and memberlist's LAN
// settings. DataDir must still be set
// (or Dev).
func DefaultConfig() Config {
	name, _ := os.Hostname()
	return Config{
		Name:            name,
		BindAddr:        "0.0.0.0",
		HTTPPort:        7070,
		RaftPort:        7071,
		GossipPort:      7072,
		DeadServerGrace: 2 * time.Minute,
		RequeueGrace:    cluster.DefaultRequeueGrace,
		MaxVoters:       5,
		RaftTimeouts: RaftTimeouts{
			Heartbeat:           500 * time.Millisecond,
			Election:            500 * time.Millisecond,
			LeaderLease:         250 * time.Millisecond,
			CommitTimeout:       50 * time.Millisecond,
			SnapshotThreshold:   8192,
			SnapshotInterval:    120 * time.Second,
			TrailingLogs:        10240,
			ReconcileInterval:   10 * time.Second,
			ProposeBatchMax:     512,
			ProposeInflight:     2,
			ApplyTimeout:        10 * time.Second,
			ConsistentReadWait:  5 * time.Second,
			ExpiryCheckInterval: time.Second,
			LeaveDrainTimeout:   10 * time.Second,
		},
		Gossip: GossipTimeouts{
			ProbeInterval:       500 * time.Millisecond,
			ProbeTimeout:        250 * time.Millisecond,
			GossipInterval:      200 * time.Millisecond,
			PushPullInterval:    30 * time.Second,
			SuspicionMult:       4,
			TCPTimeout:          10 * time.Second,
			RetryJoinInterval:   5 * time.Second,
			DeadNodeReclaimTime: 30 * time.Second,
		},
		Execution: ExecutionTimings{
			ScheduleInterval:   time.Second,
			ProgressInterval:   2 * time.Second,
			MetaInterval:       500 * time.Millisecond,
			ReportTimeout:      2 * time.Minute,
			PluginStartTimeout: plugins.DefaultStartTimeout,
			RunTimeout:         time.Hour,
			SLAInterval:        10 * time.Second,
			BreakerThreshold:   cluster.DefaultBreakerThreshold,
			BreakerCoolDown:    cluster.DefaultBreakerCoolDown,
		},
		FSM: fsm.DefaultConfig(),
	}
}

// withDefaults returns c with every zero tunable replaced by its default.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Name == "" {
		c.Name = d.Name
	}
	if c.BindAddr == "" {
		c.BindAddr = d.BindAddr
	}
	if c.DeadServerGrace == 0 {
		c.DeadServerGrace = d.DeadServerGrace
	}
	setDur(&c.RequeueGrace, d.RequeueGrace)
	if c.MaxVoters == 0 {
		c.MaxVoters = d.MaxVoters
	}
	if c.Dev && c.BootstrapExpect == 0 {
		c.BootstrapExpect = 1
	}
	rt, drt := &c.RaftTimeouts, d.RaftTimeouts
	setDur(&rt.Heartbeat, drt.Heartbeat)
	setDur(&rt.Election, drt.Election)
	setDur(&rt.LeaderLease, drt.LeaderLease)
	setDur(&rt.CommitTimeout, drt.CommitTimeout)
	setDur(&rt.SnapshotInterval, drt.SnapshotInterval)
	setDur(&rt.ReconcileInterval, drt.ReconcileInterval)
	setDur(&rt.ApplyTimeout, drt.ApplyTimeout)
	setDur(&rt.ConsistentReadWait, drt.ConsistentReadWait)
	setDur(&rt.ExpiryCheckInterval, drt.ExpiryCheckInterval)
	setDur(&rt.LeaveDrainTimeout, drt.LeaveDrainTimeout)
	if rt.SnapshotThreshold == 0 {
		rt.SnapshotThreshold = drt.SnapshotThreshold
	}
	if rt.TrailingLogs == 0 {
		rt.TrailingLogs = drt.TrailingLogs
	}
	if rt.ProposeBatchMax == 0 {
		rt.ProposeBatchMax = drt.ProposeBatchMax
	}
	if rt.ProposeInflight == 0 {
		rt.ProposeInflight = drt.ProposeInflight
	}
	gt, dgt := &c.Gossip, d.Gossip
	setDur(&gt.ProbeInterval, dgt.ProbeInterval)
	setDur(&gt.ProbeTimeout, dgt.ProbeTimeout)
	setDur(&gt.GossipInterval, dgt.GossipInterval)
	setDur(&gt.PushPullInterval, dgt.PushPullInterval)
	setDur(&gt.TCPTimeout, dgt.TCPTimeout)
	setDur(&gt.RetryJoinInterval, dgt.RetryJoinInterval)
	setDur(&gt.DeadNodeReclaimTime, dgt.DeadNodeReclaimTime)
	et, det := &c.Execution, d.Execution
	setDur(&et.ScheduleInterval, det.ScheduleInterval)
	setDur(&et.ProgressInterval, det.ProgressInterval)
	setDur(&et.MetaInterval, det.MetaInterval)
	setDur(&et.ReportTimeout, det.ReportTimeout)
	setDur(&et.PluginStartTimeout, det.PluginStartTimeout)
	setDur(&et.RunTimeout, det.RunTimeout)
	setDur(&et.SLAInterval, det.SLAInterval)
	setDur(&et.BreakerCoolDown, det.BreakerCoolDown)
	if et.BreakerThreshold == 0 {
		et.BreakerThreshold = det.BreakerThreshold
	}
	if gt.SuspicionMult == 0 {
		gt.SuspicionMult = dgt.SuspicionMult
	}
	switch {
	case c.FSM.SLA == nil && c.FSM.IdempotencyMax == 0 && c.FSM.IdempotencyWindow == 0:
		c.FSM = d.FSM
	case c.FSM.SLA == nil:
		c.FSM.SLA = d.FSM.SLA
	}
	if c.FSM.IdempotencyMax == 0 {
		c.FSM.IdempotencyMax = d.FSM.IdempotencyMax
	}
	return c
}

func setDur(dst *time.Duration, def time.Duration) {
	if *dst == 0 {
		*dst = def
	}
}

// Validate reports the first problem with c, after filling zero tunables
// with their defaults. New calls it.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Name == "" {
		errs = append(errs, errors.New("name is required"))
	}
	if len(c.Name) > fsm.MaxNameLen {
		errs = append(errs, fmt.Errorf("name longer than %d bytes", fsm.MaxNameLen))
	}
	if c.DataDir == "" && !c.Dev {
		errs = append(errs, errors.New("data dir is required (or dev mode)"))
	}
	if net.ParseIP(c.BindAddr) == nil {
		errs = append(errs, fmt.Errorf("bind address %q is not an IP", c.BindAddr))
	}
	if c.AdvertiseAddr != "" {
		ip := net.ParseIP(c.AdvertiseAddr)
		if ip == nil || ip.IsUnspecified() {
			errs = append(errs, fmt.Errorf("advertise address %q is not a specific IP", c.AdvertiseAddr))
		}
	}
	for name, p := range map[string]int{"http": c.HTTPPort, "raft": c.RaftPort, "gossip": c.GossipPort} {
		if p < 0 || p > 65535 {
			errs = append(errs, fmt.Errorf("%s port %d out of range", name, p))
		}
	}
	if c.BootstrapExpect < 0 {
		errs = append(errs, errors.New("bootstrap-expect must not be negative"))
	}
	if c.Dev && c.BootstrapExpect != 1 {
		errs = append(errs, errors.New("dev mode runs one node: bootstrap-expect must be 1"))
	}
	if c.NonVoter && c.BootstrapExpect > 0 {
		errs = append(errs, errors.New("a non-voter cannot bootstrap a cluster"))
	}
	if c.MaxVoters < 1 || c.MaxVoters%2 == 0 {
		errs = append(errs, fmt.Errorf("max voters %d must be odd and at least 1", c.MaxVoters))
	}
	if c.DeadServerGrace < 0 {
		errs = append(errs, errors.New("dead server grace must not be negative"))
	}
	if c.RequeueGrace < 0 {
		errs = append(errs, errors.New("requeue grace must not be negative"))
	}
	if et := c.Execution; et.RunTimeout < 0 || et.SLAInterval < 0 || et.BreakerCoolDown < 0 || et.BreakerThreshold < 0 {
		errs = append(errs, errors.New("run timeout, SLA interval, breaker threshold and breaker cool-down must not be negative"))
	}
	rt := c.RaftTimeouts
	if rt.ProposeBatchMax < 1 || rt.ProposeBatchMax > fsm.MaxBatch {
		errs = append(errs, fmt.Errorf("propose batch max %d out of range 1..%d", rt.ProposeBatchMax, fsm.MaxBatch))
	}
	if rt.ProposeInflight < 1 {
		errs = append(errs, errors.New("propose inflight must be at least 1"))
	}
	if rt.LeaderLease > rt.Heartbeat {
		errs = append(errs, errors.New("leader lease must not exceed the heartbeat timeout"))
	}
	if rt.Election < rt.Heartbeat {
		errs = append(errs, errors.New("election timeout must be at least the heartbeat timeout"))
	}
	if err := c.FSM.Validate(); err != nil {
		errs = append(errs, err)
	}
	pc := c.pluginConfig()
	if err := pc.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("agents: %w", err))
	}
	if c.AgentCapacity < 0 {
		errs = append(errs, errors.New("agent capacity must not be negative"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("node: invalid config: %w", errors.Join(errs...))
	}
	return nil
}

// advertiseIP picks the IP other nodes reach this one at.
func (c *Config) advertiseIP() (string, error) {
	if c.AdvertiseAddr != "" {
		return c.AdvertiseAddr, nil
	}
	if ip := net.ParseIP(c.BindAddr); ip != nil && !ip.IsUnspecified() {
		return c.BindAddr, nil
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", fmt.Errorf("node: list interface addresses: %w", err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && ipn.IP.IsPrivate() {
			return ipn.IP.String(), nil
		}
	}
	if c.Dev {
		return "127.0.0.1", nil
	}
	return "", errors.New("node: no private IPv4 address found; set the advertise address")
}

// pluginConfig is the plugins.Config of this node's agents.
func (c *Config) pluginConfig() plugins.Config {
	pc := plugins.DefaultConfig()
	pc.Agents = c.Agents
	pc.PluginDir = c.PluginDir
	pc.TempDir = c.pluginTempDir()
	if c.AgentCapacity > 0 {
		pc.DefaultCapacity = c.AgentCapacity
	}
	if c.Execution.PluginStartTimeout > 0 {
		pc.StartTimeout = c.Execution.PluginStartTimeout
	}
	return pc
}

// pluginTempDir is where the agent plugins keep their sockets and
// temporary files (their TMPDIR) when the system has no temporary
// directory, as in a FROM scratch image: DATA_DIR/tmp, emptied at every
// start. It is "" where the system has one (or without a data
// directory): the plugins then use it as usual, and its short path keeps
// the socket paths within the 108 bytes a Unix socket address allows.
func (c *Config) pluginTempDir() string {
	if c.DataDir == "" {
		return ""
	}
	if fi, err := os.Stat(os.TempDir()); err == nil && fi.IsDir() {
		return ""
	}
	return filepath.Join(c.DataDir, "tmp")
}
