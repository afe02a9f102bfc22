package node

import (
	"sort"
	"time"

	"github.com/hashicorp/raft"
	"github.com/hive-swarm/hive/gossip"
)

// Membership policy of the leader (what Consul's autopilot does, minus the
// stabilization wait):
//   - alive servers not in the raft configuration are added: as voters
//     while the healthy voters are fewer than the target, else as
//     non-voters. The target is MaxVoters, or the number of healthy
//     voter-eligible servers rounded down to an odd number if smaller:
//     an even count adds exposure without adding fault tolerance, so a 4th
//     server waits as a non-voter until a 5th arrives;
//   - healthy non-voters are promoted first when voters are missing (they
//     hold the log already);
//   - a server that left gracefully is removed at once;
//   - a failed server (or one gossip no longer knows) is removed only
//     after DeadServerGrace, and failed voters only while they are a strict
//     minority of the voters, so a leader with a broken view of the
//     network never tears the configuration apart;
//   - a server whose gossiped raft address changed is re-added with its
//     new address and the same suffrage, the leader itself included (a
//     node restarted at a new address, as a container is, may lead before
//     anyone updated its entry, whose stale address would then refuse
//     the next server given it);
//   - the leader never removes itself, and healthy voters are never
//     demoted.

// changeKind is one kind of raft configuration change.
type changeKind uint8

const (
	changeAddVoter changeKind = iota + 1
	changeAddNonvoter
	changePromote
	changeUpdateAddr
	changeRemove
)

// String implements fmt.Stringer.
func (k changeKind) String() string {
	switch k {
	case changeAddVoter:
		return "add-voter"
	case changeAddNonvoter:
		return "add-nonvoter"
	case changePromote:
		return "promote"
	case changeUpdateAddr:
		return "update-address"
	case changeRemove:
		return "remove"
	default:
		return "unknown"
	}
}

// change is one planned configuration change.
type change struct {
	kind     changeKind
	id       string
	addr     string
	suffrage raft.ServerSuffrage // for changeUpdateAddr: the suffrage kept
	reason   string
}

// memberInfo is what the planner needs to know of a gossip member that is
// a server.
type memberInfo struct {
	RaftAddr string
	Status   gossip.Status
	Since    time.Time
	NonVoter bool
}

// planInput is a snapshot of everything planReconcile decides from.
type planInput struct {
	self         string
	selfAddr     string                // the leader's own raft address now
	servers      []raft.Server         // the latest raft configuration
	members      map[string]memberInfo // gossip members that are servers
	missingSince map[string]time.Time  // configured servers gossip does not know, since when
	now          time.Time
	grace        time.Duration
	maxVoters    int
}

func (in *planInput) healthy(id string) bool {
	if id == in.self {
		return true
	}
	m, ok := in.members[id]
	return ok && (m.Status == gossip.StatusAlive || m.Status == gossip.StatusSuspect)
}

// targetVoters is how many voters the cluster should have given h healthy
// voter-eligible servers.
func targetVoters(h, maxVoters int) int {
	if h%2 == 0 {
		h--
	}
	return max(1, min(h, maxVoters))
}

// planReconcile returns the configuration changes that bring raft in line
// with gossip, in the order they should be applied. It is a pure function.
func planReconcile(in planInput) []change {
	var out []change
	servers := append([]raft.Server(nil), in.servers...)
	sort.Slice(servers, func(i, j int) bool { return servers[i].ID < servers[j].ID })
	inConfig := make(map[string]raft.Server, len(servers))
	for _, s := range servers {
		inConfig[string(s.ID)] = s
	}

	// 1. Removals.
	voters := 0
	for _, s := range servers {
		if s.Suffrage == raft.Voter {
			voters++
		}
	}
	var failedVoters []change
	for _, s := range servers {
		id := string(s.ID)
		if id == in.self {
			continue
		}
		m, known := in.members[id]
		var since time.Time
		switch {
		case known && m.Status == gossip.StatusLeft:
			out = append(out, change{kind: changeRemove, id: id, reason: "left"})
			delete(inConfig, id)
			if s.Suffrage == raft.Voter {
				voters--
			}
			continue
		case known && m.Status == gossip.StatusFailed:
			since = m.Since
		case !known:
			since = in.missingSince[id]
		}
		if since.IsZero() || in.now.Sub(since) < in.grace {
			continue
		}
		c := change{kind: changeRemove, id: id, reason: "failed for longer than the grace period"}
		if s.Suffrage != raft.Voter {
			out = append(out, c)
			delete(inConfig, id)
			continue
		}
		failedVoters = append(failedVoters, c)
	}
	if len(failedVoters) > 0 && 2*len(failedVoters) < voters {
		for _, c := range failedVoters {
			out = append(out, c)
			delete(inConfig, c.id)
		}
	}

	// 2. Address updates, before any addition that may need an address
	// a stale entry still holds.
	for _, s := range servers {
		id := string(s.ID)
		if _, ok := inConfig[id]; !ok || !in.healthy(id) {
			continue
		}
		addr := in.members[id].RaftAddr
		if id == in.self {
			addr = in.selfAddr
		}
		if addr != "" && addr != string(s.Address) {
			out = append(out, change{kind: changeUpdateAddr, id: id, addr: addr, suffrage: s.Suffrage, reason: "raft address changed"})
		}
	}

	// 3. Promotions and additions.
	eligible, healthyVoters := 0, 0
	for id, m := range in.members {
		if in.healthy(id) && !m.NonVoter {
			eligible++
		}
	}
	if _, ok := in.members[in.self]; !ok {
		eligible++ // the leader itself, even if gossip has not reported it
	}
	for id, s := range inConfig {
		if s.Suffrage == raft.Voter && in.healthy(id) {
			healthyVoters++
		}
	}
	target := targetVoters(eligible, in.maxVoters)
	for _, s := range servers {
		id := string(s.ID)
		if _, ok := inConfig[id]; !ok || s.Suffrage == raft.Voter || !in.healthy(id) || in.members[id].NonVoter {
			continue
		}
		if healthyVoters < target {
			addr := string(s.Address)
			if m := in.members[id]; m.RaftAddr != "" {
				addr = m.RaftAddr
			}
			out = append(out, change{kind: changePromote, id: id, addr: addr, reason: "voters missing"})
			healthyVoters++
		}
	}
	names := make([]string, 0, len(in.members))
	for id := range in.members {
		names = append(names, id)
	}
	sort.Strings(names)
	for _, id := range names {
		m := in.members[id]
		if _, ok := inConfig[id]; ok || id == in.self || m.Status != gossip.StatusAlive || m.RaftAddr == "" {
			continue
		}
		if !m.NonVoter && healthyVoters < target {
			out = append(out, change{kind: changeAddVoter, id: id, addr: m.RaftAddr, reason: "new server"})
			healthyVoters++
		} else {
			out = append(out, change{kind: changeAddNonvoter, id: id, addr: m.RaftAddr, reason: "new server"})
		}
	}
	return out
}

// reconcile plans and applies the configuration changes gossip calls for.
// missingSince is the leader loop's memory of configured servers that
// gossip does not know; it is updated here.
func (n *Node) reconcile(stop <-chan struct{}, missingSince map[string]time.Time) {
	conf, err := n.raftConfiguration()
	if err != nil {
		n.logger.Warn("reconcile: reading raft configuration", "error", err)
		return
	}
	now := time.Now()
	members := make(map[string]memberInfo)
	for _, m := range n.gossip.Members() {
		if m.Meta.Role != gossip.RoleServer {
			continue
		}
		members[m.Name] = memberInfo{
			RaftAddr: m.Meta.RaftAddr,
			Status:   m.Status,
			Since:    m.Since,
			NonVoter: m.Meta.Has(gossip.FlagNonVoter),
		}
	}
	configured := make(map[string]bool, len(conf.Servers))
	for _, s := range conf.Servers {
		id := string(s.ID)
		configured[id] = true
		if _, ok := members[id]; ok || id == n.cfg.Name {
			delete(missingSince, id)
		} else if _, ok := missingSince[id]; !ok {
			missingSince[id] = now
		}
	}
	for id := range missingSince {
		if !configured[id] {
			delete(missingSince, id)
		}
	}
	changes := planReconcile(planInput{
		self:         n.cfg.Name,
		selfAddr:     n.raftAddr,
		servers:      conf.Servers,
		members:      members,
		missingSince: missingSince,
		now:          now,
		grace:        n.cfg.DeadServerGrace,
		maxVoters:    n.cfg.MaxVoters,
	})
	for _, c := range changes {
		n.logger.Info("raft configuration change", "change", c.kind, "server", c.id, "addr", c.addr, "reason", c.reason)
		if err := n.applyChange(stop, c); err != nil {
			n.logger.Warn("raft configuration change failed; will retry", "change", c.kind, "server", c.id, "error", err)
			return
		}
	}
}

func (n *Node) applyChange(stop <-chan struct{}, c change) error {
	id, addr := raft.ServerID(c.id), raft.ServerAddress(c.addr)
	timeout := n.cfg.RaftTimeouts.ApplyTimeout
	var f raft.IndexFuture
	switch {
	case c.kind == changeAddVoter, c.kind == changePromote,
		c.kind == changeUpdateAddr && c.suffrage == raft.Voter:
		f = n.raft.AddVoter(id, addr, 0, timeout)
	case c.kind == changeAddNonvoter, c.kind == changeUpdateAddr:
		f = n.raft.AddNonvoter(id, addr, 0, timeout)
	case c.kind == changeRemove:
		f = n.raft.RemoveServer(id, 0, timeout)
	default:
		return nil
	}
	return waitFuture(stop, f)
}
