package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/hive-swarm/hive/api"
)

// statusSummary is the output of hive status: /v1/status (its fields
// keep their names at the top level of -json) plus the swarm at a glance,
// from /v1/members, /api/metrics/summary and /v1/andon. A part that could
// not be read is absent and named in Warnings.
type statusSummary struct {
	*api.Status
	Members      *memberCounts          `json:"members,omitempty"`
	ByState      map[string]int         `json:"workorders_by_state,omitempty"`
	Queued       *int                   `json:"queued,omitempty"`
	WIP          []api.WIPUse           `json:"wip,omitempty"`
	Agents       []api.MemberLoad       `json:"agents,omitempty"`
	OpenAndons   []*api.Andon           `json:"open_andons,omitempty"`
	StoppedLines []*api.StoppedLine     `json:"stopped_lines,omitempty"`
	EventStreams *api.EventStreamsStats `json:"event_streams,omitempty"`
	SummaryIndex uint64                 `json:"summary_index,omitempty"`
	Warnings     []string               `json:"warnings,omitempty"`
}

// memberCounts counts gossip members by status.
type memberCounts struct {
	Total    int            `json:"total"`
	Alive    int            `json:"alive"`
	Failed   int            `json:"failed"` // suspect or dead
	Left     int            `json:"left"`
	ByStatus map[string]int `json:"by_status"`
}

// gatherStatus reads the status and, best effort, the rest of the summary.
func gatherStatus(ctx context.Context, cl *api.Client, q *api.QueryOptions) (*statusSummary, error) {
	st, err := cl.Agent().Status(ctx, q)
	if err != nil {
		return nil, err
	}
	s := &statusSummary{Status: st}
	warn := func(what string, err error) { s.Warnings = append(s.Warnings, fmt.Sprintf("%s: %v", what, err)) }
	if ml, err := cl.Agent().Members(ctx, q); err != nil {
		warn("members", err)
	} else {
		mc := &memberCounts{Total: len(ml.Members), ByStatus: map[string]int{}}
		for _, m := range ml.Members {
			mc.ByStatus[m.Status]++
			switch m.Status {
			case "alive":
				mc.Alive++
			case "suspect", "dead", "failed":
				mc.Failed++
			case "left":
				mc.Left++
			}
		}
		s.Members = mc
	}
	if ms, err := cl.Events().MetricsSummary(ctx); err != nil {
		warn("metrics summary", err)
	} else {
		queued := ms.WorkOrders.Queued
		s.ByState, s.Queued, s.WIP, s.Agents = ms.WorkOrders.ByState, &queued, ms.WIP, ms.Members
		s.EventStreams, s.SummaryIndex = &ms.Events, ms.Index
	}
	if al, err := cl.Andons().List(ctx, "open", q); err != nil {
		warn("andons", err)
	} else {
		s.OpenAndons, s.StoppedLines = al.Andons, al.StoppedLines
	}
	return s, nil
}

// print renders s for a person.
func (s *statusSummary) print(w io.Writer) error {
	st := s.Status
	f := newFields(w)
	f.add("Node", st.Node)
	leader := st.Leader
	if leader != "" && st.LeaderAddr != "" {
		leader += " (" + st.LeaderAddr + ")"
	}
	f.add("Leader", leader)
	f.add("Raft state", st.RaftState)
	f.add("Term", st.Term)
	f.add("Indexes", fmt.Sprintf("last %d, commit %d, applied %d", st.LastIndex, st.CommitIndex, st.AppliedIndex))
	f.add("Voters", fmt.Sprintf("%d (+%d non-voters)", st.Voters, st.NonVoters))
	if m := s.Members; m != nil {
		f.add("Members", fmt.Sprintf("%d: %d alive, %d failed, %d left", m.Total, m.Alive, m.Failed, m.Left))
	}
	f.add("Work orders", st.WorkOrders)
	if s.ByState != nil {
		f.add("  by state", countsLine(s.ByState))
	}
	if s.Queued != nil {
		f.add("  queued", *s.Queued)
	}
	if len(s.WIP) > 0 {
		parts := make([]string, 0, len(s.WIP))
		for _, u := range s.WIP {
			parts = append(parts, fmt.Sprintf("%s %s %d/%s", u.Kind, u.Name, u.Active, limitText(u.Limit)))
		}
		f.add("WIP", strings.Join(parts, ", "))
	}
	f.add("Receipts", st.Receipts)
	f.add("Chain head", st.ChainHead)
	if s.OpenAndons != nil || s.StoppedLines != nil {
		lines := make([]string, 0, len(s.StoppedLines))
		for _, l := range s.StoppedLines {
			lines = append(lines, l.Scope+":"+l.Line)
		}
		v := fmt.Sprint(len(s.OpenAndons))
		if len(lines) > 0 {
			v += " (stopped: " + strings.Join(lines, ", ") + ")"
		}
		f.add("Open andons", v)
	}
	if e := s.EventStreams; e != nil {
		f.add("Event streams", fmt.Sprintf("%d subscribers, %d delivered, %d cut off", e.Subscribers, e.Delivered, e.Cutoffs))
	}
	for _, warning := range s.Warnings {
		f.add("Warning", warning)
	}
	if err := f.flush(); err != nil {
		return err
	}
	if len(s.Agents) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	t := newTable(w, "MEMBER", "STATUS", "RAFT", "LOAD", "SLOTS", "ASSIGNED")
	for _, m := range s.Agents {
		t.row(m.Name, m.Status, m.RaftRole, fmt.Sprintf("%.2f", m.Load), fmt.Sprintf("%d/%d", m.Running, m.Capacity), m.Assigned)
	}
	return t.flush()
}

// countsLine renders counts as "completed 3, queued 1", sorted by name.
func countsLine(counts map[string]int) string {
	parts := make([]string, 0, len(counts))
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}
