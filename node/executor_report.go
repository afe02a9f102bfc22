package node

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/fsm"
	"github.com/hive-swarm/hive/plugins"
)

// Output names the executor adds to a run's evidence.
const (
	OutputEvidenceDigest = "hive.evidence_digest" // plugins.EvidenceDigest of the result, hex
	OutputLogDigest      = "hive.log_digest"      // plugins.LogDigest of the run's log lines, hex
)

// evidenceOf is the evidence of a result as the FSM records it: the exit
// status, the outputs (bounded by the FSM's limits) with the evidence and
// log digests, the first artifact as name@sha256, and the message.
func evidenceOf(res *plugins.Result) *fsm.Evidence {
	ev := &fsm.Evidence{
		ExitCode: res.ExitStatus,
		Outputs: map[string]string{
			OutputEvidenceDigest: res.EvidenceDigest.String(),
			OutputLogDigest:      res.LogDigest.String(),
		},
		Log: truncate(res.Message, fsm.MaxNoteLen),
	}
	if len(res.Artifacts) > 0 {
		a := res.Artifacts[0]
		ev.Artifact = truncate(a.Name, fsm.MaxNameLen) + "@sha256:" + a.SHA256.String()
	}
	budget := fsm.MaxEvidence - len(ev.Log) - len(ev.Artifact) - 256
	for _, k := range slices.Sorted(maps.Keys(res.Outputs)) {
		if len(ev.Outputs) >= fsm.MaxEvidenceOuts {
			break
		}
		v := res.Outputs[k]
		if len(k)+len(v) > budget {
			// The digests above cover the whole result; the receipt keeps
			// what fits.
			v = truncate(v, max(budget-len(k), 0))
		}
		budget -= len(k) + len(v)
		if budget < 0 {
			break
		}
		ev.Outputs[k] = v
	}
	return ev
}

// report commits tr, on this node when it leads, else straight to the
// leader through the executor's forwarder (or, when no other node is
// known to lead, through this node's HTTP API, which forwards it). It retries with the
// same request ID while no leader answers, up to ReportTimeout; a refusal
// by the FSM (stale_attempt, invalid_transition, ...) is returned at once.
func (e *executor) report(ctx context.Context, tr *fsm.Transition) error {
	return e.retryReport(ctx, func(ctx context.Context) error { return e.reportOnce(ctx, tr) })
}

// retryReport calls send until it succeeds or fails in a way that sending
// again cannot mend (reportRetryable), waiting 50ms doubling to 2s between
// tries, for at most ReportTimeout in all.
func (e *executor) retryReport(ctx context.Context, send func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, e.n.cfg.Execution.ReportTimeout)
	defer cancel()
	wait := 50 * time.Millisecond
	for {
		err := send(ctx)
		if err == nil || !reportRetryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

func (e *executor) reportOnce(ctx context.Context, tr *fsm.Transition) error {
	n := e.n
	if n.IsLeader() {
		c := *tr
		_, err := n.Propose(ctx, &c)
		if !errors.Is(err, ErrNotLeader) {
			return err
		}
	}
	if n.isShutdown() {
		return ErrShutdown
	}
	req := &api.TransitionRequest{
		Attempt:   tr.Attempt,
		Agent:     tr.Agent,
		Stage:     tr.Stage,
		Progress:  tr.Progress,
		Reason:    tr.Reason,
		NoRetry:   tr.NoRetry,
		RequestID: tr.RequestID,
		Evidence:  evidenceToAPI(tr.Evidence),
	}
	if f := e.fwd; f != nil {
		// Straight to the leader in a batch, without the hop through this
		// node's own HTTP API; that API remains the way when no other
		// node is known to lead.
		err := f.transition(ctx, tr.ID, string(tr.Action), req)
		if !errors.Is(err, errNoForward) {
			return err
		}
	}
	_, err := n.execClient.WorkOrders().Transition(ctx, tr.ID, string(tr.Action), req)
	return err
}

// reportRetryable reports whether a failed report may succeed when sent
// again with the same request ID.
func reportRetryable(err error) bool {
	var fe *fsm.Error
	if errors.As(err, &fe) {
		return false
	}
	if ae := api.AsError(err); ae != nil {
		return api.IsRetryable(err) || ae.StatusCode >= 500
	}
	return !errors.Is(err, ErrShutdown) && !errors.Is(err, context.Canceled)
}

// progressReporter turns a run's progress events into progress
// transitions, at most one per ProgressInterval and only when something
// changed, off the plugin's event stream so that a slow commit never
// slows the agent.
type progressReporter struct {
	e       *executor
	ctx     context.Context
	id      string
	attempt uint64
	agent   string

	mu      sync.Mutex
	latest  string // note of the newest progress event
	sent    string // note last reported
	seq     uint64
	started bool
	stopCh  chan struct{}
	wg      sync.WaitGroup
}

func newProgressReporter(ctx context.Context, e *executor, id string, attempt uint64, agent string) *progressReporter {
	return &progressReporter{e: e, ctx: ctx, id: id, attempt: attempt, agent: agent, stopCh: make(chan struct{})}
}

// onEvent is the Execute callback.
func (p *progressReporter) onEvent(ev plugins.Event) {
	if ev.Kind != plugins.EventProgress {
		return
	}
	note := fmt.Sprintf("%.0f%%", ev.Progress.Percent)
	if ev.Progress.Stage != "" {
		note = ev.Progress.Stage + " " + note
	}
	if ev.Progress.Message != "" {
		note += ": " + ev.Progress.Message
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latest = truncate(note, fsm.MaxNoteLen)
	if !p.started {
		p.started = true
		p.wg.Add(1)
		go p.loop()
	}
}

// loop reports the latest progress every ProgressInterval until stopped.
func (p *progressReporter) loop() {
	defer p.wg.Done()
	t := time.NewTicker(p.e.n.cfg.Execution.ProgressInterval)
	defer t.Stop()
	for {
		p.mu.Lock()
		note := p.latest
		changed := note != p.sent
		if changed {
			p.sent = note
			p.seq++
		}
		seq := p.seq
		p.mu.Unlock()
		if changed {
			tr := &fsm.Transition{ID: p.id, Action: fsm.ActionProgress, Attempt: p.attempt, Agent: p.agent, Progress: note}
			tr.RequestID = reportRequestID(p.id, p.attempt, string(fsm.ActionProgress), seq)
			if err := p.e.reportOnce(p.ctx, tr); err != nil && p.ctx.Err() == nil {
				p.e.n.logger.Debug("progress report", "id", p.id, "error", err)
			}
		}
		select {
		case <-t.C:
		case <-p.stopCh:
			return
		case <-p.ctx.Done():
			return
		}
	}
}

// stop ends the reporting and waits for a report in flight.
func (p *progressReporter) stop() {
	close(p.stopCh)
	p.wg.Wait()
}

// newExecTransport is the transport of the executor's reports to this
// node's own HTTP API: loopback or a local address, never proxied, with
// enough idle connections for every run of a busy node.
func newExecTransport() *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
}
