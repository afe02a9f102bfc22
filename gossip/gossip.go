// Package gossip wraps hashicorp/memberlist: it gossips each node's
// metadata (addresses, role, bootstrap setting, agent capacity and load),
// detects failures, and reports membership changes as events.
//
// Unlike memberlist, which forgets dead members, Gossip keeps failed and
// left members in its table (for ReapAfter) so that the raft leader can tell
// a graceful leave from a failure and time how long a member has been gone.
package gossip

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"
)

// Status is a member's health as gossip sees it.
type Status uint8

// The member statuses.
const (
	StatusAlive   Status = iota + 1 // reachable
	StatusSuspect                   // reserved: memberlist v0.7.0 does not expose suspicion
	StatusFailed                    // declared dead by failure detection
	StatusLeft                      // left gracefully
)

// String implements fmt.Stringer; the names are the API's: alive, suspect,
// dead, left.
func (s Status) String() string {
	switch s {
	case StatusAlive:
		return "alive"
	case StatusSuspect:
		return "suspect"
	case StatusFailed:
		return "dead"
	case StatusLeft:
		return "left"
	default:
		return "unknown"
	}
}

// Member is one node as gossip sees it.
type Member struct {
	Name   string
	Addr   string // gossip address, host:port
	Meta   *Meta  // never nil; only Name is set when the metadata was undecodable
	Status Status
	Since  time.Time // when this node last saw the status change
}

// Config configures a Gossip. Zero durations and counts take memberlist's
// LAN defaults; tests tighten them.
type Config struct {
	Name          string // unique node name
	BindAddr      string // IP to listen on (TCP and UDP); default 0.0.0.0
	BindPort      int    // 0 picks a free port
	AdvertiseAddr string // IP others reach this node at; default: derived from BindAddr
	AdvertisePort int    // default: the bound port
	Meta          Meta   // this node's metadata; must encode to at most MetaMaxSize bytes
	Logger        hclog.Logger
	// Events, if not nil, receives membership changes (the local node's
	// own join included). Delivery never blocks memberlist: events wait in
	// a queue of EventQueueSize, beyond which they are dropped and counted
	// (see Dropped); a consumer must not rely on seeing every event.
	Events         chan<- Event
	EventQueueSize int    // default 1024
	SecretKey      []byte // optional AES key (16, 24 or 32 bytes) encrypting gossip

	ProbeInterval    time.Duration // LAN default 1s
	ProbeTimeout     time.Duration // LAN default 500ms
	GossipInterval   time.Duration // LAN default 200ms
	PushPullInterval time.Duration // LAN default 30s
	SuspicionMult    int           // LAN default 4
	TCPTimeout       time.Duration // LAN default 10s
	// DeadNodeReclaimTime lets a dead node's name be reclaimed by a new
	// address after this long; default 0 (never), as memberlist.
	DeadNodeReclaimTime time.Duration
	// ReapAfter is how long failed and left members are remembered;
	// default 24h.
	ReapAfter time.Duration
	// BroadcastTimeout bounds how long UpdateMeta and Leave wait for their
	// broadcast to go out; default 5s.
	BroadcastTimeout time.Duration
}

// Gossip is a running memberlist with Hive's metadata and event delivery.
type Gossip struct {
	logger hclog.Logger
	list   *memberlist.Memberlist
	events *eventQueue
	reap   time.Duration

	broadcastTimeout time.Duration
	name, addr       string // local name and advertised gossip address

	updateMu sync.Mutex // serialises read-modify-write updates of the local metadata

	mu      sync.Mutex
	meta    []byte // encoded local metadata
	local   Meta
	members map[string]*Member
	leaving map[string]time.Time // members that announced a leave

	stop     chan struct{}
	wg       sync.WaitGroup
	shutOnce sync.Once
}

// New starts memberlist with cfg. It does not join anyone; call Join.
func New(cfg Config) (*Gossip, error) {
	if cfg.Name == "" {
		return nil, errors.New("gossip: name is required")
	}
	if cfg.Meta.Name == "" {
		cfg.Meta.Name = cfg.Name
	}
	meta, err := EncodeMeta(&cfg.Meta)
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	qsize := cfg.EventQueueSize
	if qsize <= 0 {
		qsize = 1024
	}
	g := &Gossip{
		logger:  logger,
		events:  newEventQueue(qsize),
		reap:    cfg.ReapAfter,
		meta:    meta,
		local:   cfg.Meta,
		members: make(map[string]*Member),
		leaving: make(map[string]time.Time),
		stop:    make(chan struct{}),
	}
	if g.reap <= 0 {
		g.reap = 24 * time.Hour
	}
	g.broadcastTimeout = cfg.BroadcastTimeout
	if g.broadcastTimeout <= 0 {
		g.broadcastTimeout = 5 * time.Second
	}

	mc := memberlist.DefaultLANConfig()
	mc.Name = cfg.Name
	if cfg.BindAddr != "" {
		mc.BindAddr = cfg.BindAddr
	}
	mc.BindPort = cfg.BindPort
	mc.AdvertiseAddr = cfg.AdvertiseAddr
	mc.AdvertisePort = cfg.AdvertisePort
	if mc.AdvertisePort == 0 {
		mc.AdvertisePort = cfg.BindPort
	}
	setDuration(&mc.ProbeInterval, cfg.ProbeInterval)
	setDuration(&mc.ProbeTimeout, cfg.ProbeTimeout)
	setDuration(&mc.GossipInterval, cfg.GossipInterval)
	setDuration(&mc.PushPullInterval, cfg.PushPullInterval)
	setDuration(&mc.TCPTimeout, cfg.TCPTimeout)
	setDuration(&mc.DeadNodeReclaimTime, cfg.DeadNodeReclaimTime)
	if cfg.SuspicionMult > 0 {
		mc.SuspicionMult = cfg.SuspicionMult
	}
	if cfg.ProbeInterval > 0 && cfg.ProbeInterval < time.Second {
		// Keep the dead-gossip window in proportion to tightened probing.
		mc.GossipToTheDeadTime = 30 * cfg.ProbeInterval
	}
	mc.SecretKey = cfg.SecretKey
	mc.Delegate = &delegate{g: g}
	mc.Events = &delegate{g: g}
	mc.Logger = logger.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true})

	if cfg.Events != nil {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			g.events.forward(cfg.Events, g.stop)
		}()
	}
	list, err := memberlist.Create(mc)
	if err != nil {
		close(g.stop)
		g.wg.Wait()
		return nil, fmt.Errorf("gossip: start memberlist: %w", err)
	}
	g.list = list
	// Read once: memberlist rewrites the local *Node on every update, so
	// reading it later would race.
	local := list.LocalNode()
	g.name, g.addr = local.Name, local.Address()
	return g, nil
}

func setDuration(dst *time.Duration, v time.Duration) {
	if v > 0 {
		*dst = v
	}
}

// Join contacts the given gossip addresses (host:port) and merges their
// state. It returns how many it reached; an error only if none.
func (g *Gossip) Join(addrs []string) (int, error) {
	n, err := g.list.Join(addrs)
	if n > 0 {
		return n, nil
	}
	if err != nil {
		return 0, fmt.Errorf("gossip: join %v: %w", addrs, err)
	}
	return 0, nil
}

// Leave announces that this node leaves gracefully (so that the others
// record it as left, not failed), then broadcasts memberlist's leave and
// waits up to timeout for it to spread. Call Shutdown afterwards.
func (g *Gossip) Leave(timeout time.Duration) error {
	if err := g.UpdateMetaFunc(func(m *Meta) { m.Flags |= FlagLeaving }); err != nil {
		g.logger.Warn("leave intent broadcast", "error", err)
	}
	self := g.name
	msg := append([]byte{msgLeaveIntent}, self...)
	// Addresses come from our own table: the *Node values memberlist's
	// Members returns are mutated under its lock while we would read them.
	for _, m := range g.Members() {
		if m.Name == self || m.Status != StatusAlive {
			continue
		}
		host, port, err := net.SplitHostPort(m.Addr)
		p, perr := strconv.Atoi(port)
		if err != nil || perr != nil {
			continue
		}
		to := &memberlist.Node{Name: m.Name, Addr: net.ParseIP(host), Port: uint16(p)}
		if err := g.list.SendReliable(to, msg); err != nil {
			g.logger.Debug("leave intent", "member", m.Name, "error", err)
		}
	}
	if err := g.list.Leave(timeout); err != nil {
		return fmt.Errorf("gossip: leave: %w", err)
	}
	return nil
}

// Shutdown stops memberlist and event delivery without telling anyone:
// the others will declare this node failed. Safe to call more than once.
func (g *Gossip) Shutdown() error {
	var err error
	g.shutOnce.Do(func() {
		err = g.list.Shutdown()
		close(g.stop)
		g.wg.Wait()
	})
	if err != nil {
		return fmt.Errorf("gossip: shutdown: %w", err)
	}
	return nil
}

// Addr is the advertised gossip address (host:port) others join.
func (g *Gossip) Addr() string { return g.addr }

// LocalNode is this node as a Member.
func (g *Gossip) LocalNode() Member {
	meta := g.LocalMeta()
	return Member{Name: g.name, Addr: g.addr, Meta: &meta, Status: StatusAlive}
}

// LocalMeta returns a copy of this node's current metadata.
func (g *Gossip) LocalMeta() Meta {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.local
	m.Agents = append([]AgentSlot(nil), m.Agents...)
	return m
}

// UpdateMeta replaces this node's metadata and gossips it, waiting up to
// Config.BroadcastTimeout for the broadcast to reach one member. On a
// timeout error the new metadata is in effect and will still spread.
func (g *Gossip) UpdateMeta(m Meta) error {
	return g.updateMeta(m, true)
}

// updateMeta installs m and has memberlist gossip it; with wait it blocks
// until the broadcast reached a member or Config.BroadcastTimeout passed.
func (g *Gossip) updateMeta(m Meta, wait bool) error {
	if m.Name == "" {
		m.Name = g.name
	}
	b, err := EncodeMeta(&m)
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.meta = b
	g.local = m
	g.mu.Unlock()
	if !wait {
		// memberlist has no "don't wait" (a zero timeout waits forever):
		// the shortest timeout queues the broadcast and returns at once.
		// Its only error is then that timeout, since EncodeMeta already
		// checked the size.
		_ = g.list.UpdateNode(time.Nanosecond)
		return nil
	}
	if err := g.list.UpdateNode(g.broadcastTimeout); err != nil {
		return fmt.Errorf("gossip: update meta: %w", err)
	}
	return nil
}

// UpdateMetaFunc applies f to a copy of this node's current metadata and
// gossips the result as UpdateMeta does. Concurrent UpdateMetaFunc calls
// are serialised, so one caller's change (a flag, the agent slots) is
// never lost to another's; a caller that replaces the whole metadata
// with UpdateMeta is not serialised with them.
func (g *Gossip) UpdateMetaFunc(f func(m *Meta)) error { return g.modifyMeta(f, true) }

// PublishMetaFunc is UpdateMetaFunc without waiting for the broadcast:
// memberlist queues it and spreads it with its next rounds of gossip. It
// suits frequent updates (agent slots, load) whose caller must never be
// held up, not even across a shutdown.
func (g *Gossip) PublishMetaFunc(f func(m *Meta)) error { return g.modifyMeta(f, false) }

// modifyMeta applies f to a copy of the local metadata and installs the
// result with updateMeta, serialised with the other modifyMeta calls.
// The broadcast stays under the lock: memberlist's UpdateNode reads the
// metadata and then takes the next incarnation, so two concurrent calls
// could gossip the older metadata with the newer incarnation, and it
// would win. A PublishMetaFunc may thus wait behind an UpdateMetaFunc's
// broadcast (at most Config.BroadcastTimeout; node start is the only
// UpdateMetaFunc).
func (g *Gossip) modifyMeta(f func(m *Meta), wait bool) error {
	g.updateMu.Lock()
	defer g.updateMu.Unlock()
	m := g.LocalMeta()
	f(&m)
	return g.updateMeta(m, wait)
}

// Members lists every known member, failed and left ones included (until
// reaped), sorted by name.
func (g *Gossip) Members() []Member {
	g.mu.Lock()
	g.reapLocked(time.Now())
	out := make([]Member, 0, len(g.members))
	for _, m := range g.members {
		out = append(out, *m)
	}
	g.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Member returns the named member, if known.
func (g *Gossip) Member(name string) (Member, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	m, ok := g.members[name]
	if !ok {
		return Member{}, false
	}
	return *m, true
}

// NumAlive is the number of members memberlist considers alive (suspects
// included), this node included.
func (g *Gossip) NumAlive() int { return g.list.NumMembers() }

// Dropped is the number of events dropped because the queue was full.
func (g *Gossip) Dropped() uint64 { return g.events.dropped.Load() }

// reapLocked forgets members that failed or left more than ReapAfter ago.
func (g *Gossip) reapLocked(now time.Time) {
	for name, m := range g.members {
		if (m.Status == StatusFailed || m.Status == StatusLeft) && now.Sub(m.Since) > g.reap {
			delete(g.members, name)
		}
	}
	for name, at := range g.leaving {
		if now.Sub(at) > g.reap {
			delete(g.leaving, name)
		}
	}
}

// HostPort joins a host and a port into an address.
func HostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}
