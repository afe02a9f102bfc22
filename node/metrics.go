package node

import (
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/raft"
	"github.com/hive-swarm/hive/gossip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics is a node's Prometheus registry: one per node (no global
// registry), so in-process clusters keep their numbers apart. Request
// metrics are recorded by the HTTP middleware; everything else is read
// from the node when scraped, so it costs nothing between scrapes.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// newMetrics builds the registry of n.
func newMetrics(n *Node) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hive_http_requests_total",
			Help: "HTTP API requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hive_http_request_duration_seconds",
			Help:    "Time to answer an HTTP API request, by route pattern and method (event streams excluded).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
	}
	m.reg.MustRegister(m.requests, m.duration,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&nodeCollector{n: n})
	return m
}

// streamingRoutes are long-lived; their duration says nothing about
// latency.
var streamingRoutes = map[string]bool{"GET /v1/events": true, "GET /api/stream": true}

// observe records one answered request.
func (m *metrics) observe(r *http.Request, status int, took time.Duration) {
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	if status == 0 {
		status = http.StatusOK
	}
	m.requests.WithLabelValues(route, r.Method, strconv.Itoa(status)).Inc()
	if !streamingRoutes[route] {
		m.duration.WithLabelValues(route, r.Method).Observe(took.Seconds())
	}
}

// metricsBackend is implemented by *Node; test backends may lack it.
type metricsBackend interface{ metricsRegistry() *metrics }

func (n *Node) metricsRegistry() *metrics {
	if n.obs == nil {
		return nil
	}
	return n.obs.metrics
}

// instrument records request counts and latencies when the backend has
// metrics. It sits inside the recoverer, whose statusWriter it reads.
func (s *httpServer) instrument(next http.Handler) http.Handler {
	mb, ok := s.b.(metricsBackend)
	if !ok {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := mb.metricsRegistry()
		if m == nil {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw, ok := w.(*statusWriter)
		if !ok {
			sw = &statusWriter{ResponseWriter: w}
		}
		next.ServeHTTP(sw, r)
		m.observe(r, sw.status, time.Since(start))
	})
}

// serveMetrics handles GET /metrics in the Prometheus text format.
func (s *httpServer) serveMetrics(w http.ResponseWriter, r *http.Request) {
	mb, ok := s.b.(metricsBackend)
	if !ok || mb.metricsRegistry() == nil {
		writeError(w, http.StatusNotImplemented, "unavailable", "this node exports no metrics")
		return
	}
	promhttp.HandlerFor(mb.metricsRegistry().reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, r)
}

// Descriptions of the metrics read from the node at scrape time.
var (
	descWorkOrders     = prometheus.NewDesc("hive_workorders", "Work orders by state.", []string{"state"}, nil)
	descUnfinished     = prometheus.NewDesc("hive_workorders_unfinished", "Unfinished work orders (blocked, queued, in flight) by bucket.", []string{"bucket"}, nil)
	descWIPActive      = prometheus.NewDesc("hive_wip_active", "In-flight work orders counted against WIP limits, by kind (stage or bucket) and name.", []string{"kind", "name"}, nil)
	descWIPLimit       = prometheus.NewDesc("hive_wip_limit", "WIP limits in force, by kind (stage or bucket) and name.", []string{"kind", "name"}, nil)
	descReceipts       = prometheus.NewDesc("hive_receipts_total", "Receipts in the chain.", nil, nil)
	descRaftState      = prometheus.NewDesc("hive_raft_state", "1 for this node's current raft state.", []string{"state"}, nil)
	descRaftTerm       = prometheus.NewDesc("hive_raft_term", "Current raft term.", nil, nil)
	descRaftCommit     = prometheus.NewDesc("hive_raft_commit_index", "Raft commit index.", nil, nil)
	descRaftApplied    = prometheus.NewDesc("hive_raft_applied_index", "Raft index applied to the state machine.", nil, nil)
	descRaftLast       = prometheus.NewDesc("hive_raft_last_index", "Last raft log index.", nil, nil)
	descRaftContact    = prometheus.NewDesc("hive_raft_last_contact_seconds", "Seconds since the leader was last heard from (0 on the leader, -1 never).", nil, nil)
	descRaftLeader     = prometheus.NewDesc("hive_raft_leader", "1 when a leader is known.", nil, nil)
	descRaftServers    = prometheus.NewDesc("hive_raft_servers", "Servers in the raft configuration, by suffrage.", []string{"suffrage"}, nil)
	descGossipMembers  = prometheus.NewDesc("hive_gossip_members", "Gossip members, by status.", []string{"status"}, nil)
	descGossipDropped  = prometheus.NewDesc("hive_gossip_events_dropped_total", "Gossip membership events dropped because the queue was full.", nil, nil)
	descEventSubs      = prometheus.NewDesc("hive_event_subscribers", "Open event stream subscriptions (live: caught up with the commits).", []string{"phase"}, nil)
	descEventDelivered = prometheus.NewDesc("hive_events_delivered_total", "Events handed to event stream subscribers.", nil, nil)
	descEventCutoffs   = prometheus.NewDesc("hive_event_cutoffs_total", "Event stream subscribers cut off for falling behind.", nil, nil)
	descEventLocal     = prometheus.NewDesc("hive_events_local_total", "Node-local events (member, leader) published.", nil, nil)
	descPluginRestarts = prometheus.NewDesc("hive_plugin_restarts_total", "Agent plugin restarts after crashes or failed starts, by agent type.", []string{"agent_type"}, nil)
	descPluginRunning  = prometheus.NewDesc("hive_plugin_running", "Work orders an agent plugin is running, by agent type.", []string{"agent_type"}, nil)
	descPluginCapacity = prometheus.NewDesc("hive_plugin_capacity", "Work orders an agent plugin can run at once, by agent type.", []string{"agent_type"}, nil)
)

// nodeCollector reads the node's state, raft, gossip and event broker
// when scraped.
type nodeCollector struct{ n *Node }

// Describe implements prometheus.Collector.
func (c *nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descWorkOrders, descUnfinished, descWIPActive, descWIPLimit, descReceipts,
		descRaftState, descRaftTerm, descRaftCommit, descRaftApplied, descRaftLast, descRaftContact, descRaftLeader,
		descRaftServers, descGossipMembers, descGossipDropped, descEventSubs, descEventDelivered, descEventCutoffs,
		descEventLocal, descPluginRestarts, descPluginRunning, descPluginCapacity} {
		ch <- d
	}
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func counter(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
}

// Collect implements prometheus.Collector.
func (c *nodeCollector) Collect(ch chan<- prometheus.Metric) {
	n := c.n
	v := n.fsm.View()
	sum := n.summaryCounts(v)
	for st, k := range sum.WorkOrders.ByState {
		ch <- gauge(descWorkOrders, float64(k), st)
	}
	unfinished := make(map[string]int)
	for _, wo := range v.Unfinished() {
		unfinished[wo.Bucket]++
	}
	for b, k := range unfinished {
		ch <- gauge(descUnfinished, float64(k), b)
	}
	for _, u := range sum.WIP {
		ch <- gauge(descWIPActive, float64(u.Active), u.Kind, u.Name)
		if u.Limit > 0 {
			ch <- gauge(descWIPLimit, float64(u.Limit), u.Kind, u.Name)
		}
	}
	ch <- counter(descReceipts, float64(sum.Receipts))

	h := n.health()
	for _, st := range []raft.RaftState{raft.Follower, raft.Candidate, raft.Leader, raft.Shutdown} {
		v := 0.0
		if st.String() == h.Raft.State {
			v = 1
		}
		ch <- gauge(descRaftState, v, st.String())
	}
	ch <- gauge(descRaftTerm, float64(h.Raft.Term))
	ch <- gauge(descRaftCommit, float64(h.Raft.CommitIndex))
	ch <- gauge(descRaftApplied, float64(h.Raft.AppliedIndex))
	ch <- gauge(descRaftContact, h.Raft.LastContact)
	known := 0.0
	if h.Raft.Leader != "" {
		known = 1
	}
	ch <- gauge(descRaftLeader, known)
	if n.raft != nil {
		ch <- gauge(descRaftLast, float64(n.raft.LastIndex()))
		voters, nonvoters := 0, 0
		if conf, err := n.raftConfiguration(); err == nil {
			for _, s := range conf.Servers {
				if s.Suffrage == raft.Voter {
					voters++
				} else {
					nonvoters++
				}
			}
		}
		ch <- gauge(descRaftServers, float64(voters), "voter")
		ch <- gauge(descRaftServers, float64(nonvoters), "nonvoter")
	}
	byStatus := make(map[gossip.Status]int)
	if n.gossip != nil {
		for _, m := range n.gossip.Members() {
			byStatus[m.Status]++
		}
	}
	for _, st := range []gossip.Status{gossip.StatusAlive, gossip.StatusSuspect, gossip.StatusFailed, gossip.StatusLeft} {
		ch <- gauge(descGossipMembers, float64(byStatus[st]), st.String())
	}
	ch <- counter(descGossipDropped, float64(h.Gossip.DroppedEvents))
	if b := n.Events(); b != nil {
		st := b.Stats()
		ch <- gauge(descEventSubs, float64(st.Live), "live")
		ch <- gauge(descEventSubs, float64(st.Subscribers-st.Live), "catching_up")
		ch <- counter(descEventDelivered, float64(st.Delivered))
		ch <- counter(descEventCutoffs, float64(st.Cutoffs))
		ch <- counter(descEventLocal, float64(st.LocalEvents))
	}
	for _, p := range h.Plugins {
		ch <- counter(descPluginRestarts, float64(p.Restarts), p.AgentType)
		ch <- gauge(descPluginRunning, float64(p.Running), p.AgentType)
		ch <- gauge(descPluginCapacity, float64(p.Capacity), p.AgentType)
	}
}
