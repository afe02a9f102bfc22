package node

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/fsm"
)

// Stale reports. A node that comes back from a partition may finish work
// that was moved elsewhere meanwhile; the FSM refuses its report with
// stale_attempt and changes nothing. The refusal is receipted with
// fsm.RecordStale, proposed by the leader with the request ID
// "stale/<the report's request ID>", so a report retried or refused twice
// is recorded once:
//
//   - on the leader, the executor proposes it at once;
//   - on a follower, which cannot propose, the executor leaves it in the
//     replicated mailbox StaleNamespace of swarm memory (key: the report's
//     request ID with '/' as ':'; value: a staleReport; TTL StaleTTL), and
//     the leader records and deletes every entry there in one entry each
//     (drainStaleReports). The mailbox lives in the FSM, so a report left
//     there survives a change of leader.

// StaleNamespace is the swarm-memory namespace of stale reports waiting
// for the leader to record them. It is internal: entries come and go.
const StaleNamespace = "hive.stale"

// StaleTTL bounds how long a stale report waits in the mailbox.
const StaleTTL = 24 * time.Hour

// staleReport is a mailbox entry: what RecordStale needs.
type staleReport struct {
	ID        string `json:"id"`
	Attempt   uint64 `json:"attempt"`
	Node      string `json:"node"`
	Agent     string `json:"agent"`
	Action    string `json:"action"`
	Evidence  string `json:"evidence_digest,omitempty"` // hex
	RequestID string `json:"request_id"`
}

// isStaleAttempt reports whether err is the FSM's stale_attempt refusal, local
// or through the HTTP API.
func isStaleAttempt(err error) bool {
	return errors.Is(err, fsm.ErrStaleAttempt) || api.ErrorCode(err) == api.CodeStaleAttempt
}

// recordStaleCommand is the RecordStale of a stale report.
func recordStaleCommand(r *staleReport) *fsm.RecordStale {
	rs := &fsm.RecordStale{
		Header:  fsm.Header{RequestID: truncate("stale/"+r.RequestID, fsm.MaxNameLen)},
		ID:      r.ID,
		Attempt: r.Attempt,
		Node:    r.Node,
		Agent:   r.Agent,
		Action:  fsm.Action(r.Action),
	}
	if b, err := hex.DecodeString(r.Evidence); err == nil && len(b) == len(rs.EvidenceDigest) {
		copy(rs.EvidenceDigest[:], b)
	}
	return rs
}

// recordStale has the refusal of report tr receipted: proposed at once on
// the leader, else left in the mailbox for it.
func (e *executor) recordStale(ctx context.Context, tr *fsm.Transition) error {
	n := e.n
	r := &staleReport{ID: tr.ID, Attempt: tr.Attempt, Node: n.cfg.Name, Agent: tr.Agent, Action: string(tr.Action), RequestID: tr.RequestID}
	if tr.Evidence != nil {
		d := fsm.EvidenceDigest(tr.Evidence)
		r.Evidence = hex.EncodeToString(d[:])
	}
	if n.IsLeader() {
		res, err := n.ProposeControl(ctx, []fsm.Command{recordStaleCommand(r)})
		if err == nil {
			return res[0].Err
		}
		if !errors.Is(err, ErrNotLeader) {
			return err
		}
	}
	return e.mailStale(ctx, r)
}

// mailStale leaves r in the mailbox through this node's HTTP API (which
// forwards the write to the leader), retrying like a report.
func (e *executor) mailStale(ctx context.Context, r *staleReport) error {
	n := e.n
	value, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return e.retryReport(ctx, func(ctx context.Context) error {
		_, err := n.execClient.Memory().Put(ctx, StaleNamespace, staleKey(r.RequestID), value, StaleTTL)
		return err
	})
}

// staleKey is the mailbox key of the report with request ID id.
func staleKey(id string) string { return strings.ReplaceAll(id, "/", ":") }

// drainStaleReports records every stale report waiting in the mailbox
// and deletes it, each in one log entry (RecordStale, MemoryDelete). A
// report that cannot be recorded (the work order is gone, or it was not
// stale after all) is deleted all the same.
func (n *Node) drainStaleReports(ctx context.Context) {
	entries, err := n.fsm.View().MemoryQuery(StaleNamespace, "", "")
	if err != nil || len(entries) == 0 {
		return
	}
	for _, ent := range entries {
		del := &fsm.MemoryDelete{
			Header:    fsm.Header{RequestID: truncate(fmt.Sprintf("stale-del/%d/%s", ent.ModifyIndex, ent.Key), fsm.MaxNameLen)},
			Namespace: StaleNamespace,
			Key:       ent.Key,
		}
		cmds := []fsm.Command{del}
		var r staleReport
		if err := json.Unmarshal(ent.Value, &r); err != nil {
			n.logger.Warn("undecodable stale report; deleting it", "key", ent.Key, "error", err)
		} else {
			rs := recordStaleCommand(&r)
			if err := fsm.Validate(rs); err != nil {
				n.logger.Warn("invalid stale report; deleting it", "key", ent.Key, "error", err)
			} else {
				cmds = []fsm.Command{rs, del}
			}
		}
		res, err := n.ProposeControl(ctx, cmds)
		if err != nil {
			n.logger.Debug("recording a stale report", "key", ent.Key, "error", err)
			return
		}
		if len(cmds) == 2 && res[0].Err != nil {
			n.logger.Debug("stale report not recorded", "key", ent.Key, "error", res[0].Err)
		} else if len(cmds) == 2 {
			n.logger.Info("recorded a stale report", "id", r.ID, "attempt", r.Attempt, "node", r.Node, "action", r.Action)
		}
	}
}
