package node

import (
	"net/http"
	"slices"
	"time"

	"github.com/hashicorp/raft"
	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/fsm"
	"github.com/hive-swarm/hive/gossip"
)

// minContactLimit is the least silence from the leader after which a
// follower reports itself not ready; ten heartbeats when that is longer.
const minContactLimit = 5 * time.Second

// observabilityBackend is implemented by *Node; the handlers of
// /api/health and /api/metrics/summary answer 501 on a backend without
// it (unit-test backends).
type observabilityBackend interface {
	health() *api.Health
	summary() *api.MetricsSummary
}

// apiHealth handles GET /api/health: 200 when ready, 503 when not, with
// the same body.
func (s *httpServer) apiHealth(w http.ResponseWriter, r *http.Request) {
	ob, ok := s.b.(observabilityBackend)
	if !ok {
		writeError(w, http.StatusNotImplemented, "unavailable", "this node reports no health")
		return
	}
	h := ob.health()
	status := http.StatusOK
	if !h.Ready {
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, h)
}

// apiMetricsSummary handles GET /api/metrics/summary.
func (s *httpServer) apiMetricsSummary(w http.ResponseWriter, r *http.Request) {
	ob, ok := s.b.(observabilityBackend)
	if !ok {
		writeError(w, http.StatusNotImplemented, "unavailable", "this node reports no metrics")
		return
	}
	if err := checkQuery(r.URL.Query()); err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	writeJSON(w, http.StatusOK, ob.summary())
}

// health describes the node's liveness and readiness.
func (n *Node) health() *api.Health {
	h := &api.Health{Node: n.cfg.Name, Live: true}
	if n.obs != nil {
		h.Uptime = time.Since(n.obs.started).Seconds()
	}
	h.Raft.AppliedIndex = n.fsm.AppliedIndex()
	h.Raft.State = raft.Shutdown.String()
	h.Raft.LastContact = -1
	if n.raft != nil {
		st := n.raft.State()
		h.Raft.State = st.String()
		addr, id := n.raft.LeaderWithID()
		h.Raft.Leader, h.Raft.LeaderAddr = string(id), string(addr)
		h.Raft.Term = n.raft.CurrentTerm()
		h.Raft.CommitIndex = n.raft.CommitIndex()
		if st == raft.Leader {
			h.Raft.LastContact = 0
		} else if lc := n.raft.LastContact(); !lc.IsZero() {
			h.Raft.LastContact = time.Since(lc).Seconds()
		}
	}
	if n.gossip != nil {
		for _, m := range n.gossip.Members() {
			h.Gossip.Members++
			switch m.Status {
			case gossip.StatusAlive, gossip.StatusSuspect:
				h.Gossip.Alive++
			case gossip.StatusFailed:
				h.Gossip.Failed++
			case gossip.StatusLeft:
				h.Gossip.Left++
			}
		}
		h.Gossip.DroppedEvents = n.gossip.Dropped()
	}
	if n.plugins != nil {
		for _, p := range n.plugins.Status() {
			h.Plugins = append(h.Plugins, api.PluginHealth{AgentType: p.AgentType, State: p.State.String(),
				Restarts: p.Restarts, Capacity: p.Capacity, Running: p.Running, LastError: p.LastError})
		}
	}
	limit := max(minContactLimit, 10*n.cfg.RaftTimeouts.Heartbeat)
	switch {
	case n.isShutdown():
		h.Live = false
		h.Reasons = append(h.Reasons, "the node is shutting down")
	case h.Raft.Leader == "":
		h.Reasons = append(h.Reasons, "no raft leader is known")
	case h.Raft.State != raft.Leader.String() && (h.Raft.LastContact < 0 || h.Raft.LastContact > limit.Seconds()):
		h.Reasons = append(h.Reasons, "the leader has not been heard from for "+limit.String())
	}
	h.Ready = len(h.Reasons) == 0
	h.Status = "ok"
	if !h.Ready {
		h.Status = "degraded"
	}
	return h
}

// summary counts what a dashboard shows, from the local state.
func (n *Node) summary() *api.MetricsSummary {
	v := n.fsm.View()
	s := n.summaryCounts(v)
	wos := &s.WorkOrders
	wos.ByBucket = make(map[string]map[string]int)
	wos.ByStage = make(map[string]map[string]int)
	add := func(m map[string]map[string]int, k string, st fsm.State) {
		if m[k] == nil {
			m[k] = make(map[string]int)
		}
		m[k][string(st)]++
	}
	assigned := make(map[string]int)
	for _, wo := range v.Unfinished() {
		add(wos.ByBucket, wo.Bucket, wo.State)
		if wo.Stage != "" {
			add(wos.ByStage, wo.Stage, wo.State)
		}
		if wo.Assignee.Node != "" && !wo.State.Terminal() && wo.State != fsm.StateQueued && wo.State != fsm.StateBlocked {
			assigned[wo.Assignee.Node]++
		}
	}
	for _, m := range n.Members() {
		ml := api.MemberLoad{Name: m.Name, Status: m.Status, RaftRole: m.RaftRole, Load: m.Load, Assigned: assigned[m.Name]}
		for _, a := range m.AgentTypes {
			ml.Capacity += a.Capacity
			ml.Running += a.Running
		}
		s.Members = append(s.Members, ml)
	}
	if b := n.Events(); b != nil {
		st := b.Stats()
		s.Events = api.EventStreamsStats{Subscribers: st.Subscribers, Delivered: st.Delivered, Cutoffs: st.Cutoffs}
	}
	return s
}

// summaryCounts is the part of the summary that v keeps counted: node,
// index, receipts, work orders in total, by state and queued, and WIP. It
// walks no work orders.
func (n *Node) summaryCounts(v *fsm.View) *api.MetricsSummary {
	s := &api.MetricsSummary{Node: n.cfg.Name, Index: v.Index(), Receipts: v.ReceiptCount()}
	wos := &s.WorkOrders
	wos.Total = v.WorkOrderCount()
	wos.ByState = make(map[string]int)
	for st, k := range v.CountsByState() {
		wos.ByState[string(st)] = k
	}
	wos.Queued = wos.ByState[string(fsm.StateQueued)]
	active, cfg := v.ActiveCounts(), v.SchedulerConfig()
	s.WIP = append(wipUses("stage", active.Stages, cfg.StageWIP), wipUses("bucket", active.Buckets, cfg.BucketWIP)...)
	return s
}

// wipUses lists every name that has in-flight work or a limit, sorted.
func wipUses(kind string, active, limits map[string]int) []api.WIPUse {
	var names []string
	for k := range active {
		names = append(names, k)
	}
	for k := range limits {
		if _, ok := active[k]; !ok {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	out := make([]api.WIPUse, 0, len(names))
	for _, k := range names {
		out = append(out, api.WIPUse{Kind: kind, Name: k, Active: active[k], Limit: limits[k]})
	}
	return out
}
