package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/hive-swarm/hive/fsm"
)

// maxBatchBytes bounds the encoded size of one coalesced log entry (a
// single larger command still goes alone).
const maxBatchBytes = 1 << 20

// proposal is one caller's command waiting in the proposer's queue.
type proposal struct {
	ctx  context.Context
	cmd  fsm.Command
	data []byte              // cmd encoded: the entry itself when it goes alone
	done chan proposalResult // capacity 1: the proposer never blocks on it
}

type proposalResult struct {
	res *fsm.Result
	err error
}

func (p *proposal) finish(res *fsm.Result, err error) {
	p.done <- proposalResult{res: res, err: err}
}

// Propose commits cmd through raft and returns its Result. It is the one
// write path: it must be called on the leader, and otherwise fails with
// ErrNotLeader (or ErrNoLeader when no leader is known) without proposing
// anything; the HTTP layer forwards such requests to the leader.
//
// Propose stamps cmd's Header in place: Time (this leader's clock at the
// call), Node (this node) and, when empty, RequestID (a random one). Concurrent calls are coalesced into one
// fsm.Batch log entry (up to ProposeBatchMax commands or about 1 MiB);
// each caller still gets its own Result.
//
// A business error (an invalid transition, a dependency cycle...) is
// returned both as the error and in the non-nil Result's Err, and means
// the state did not change. Any other error comes with a nil Result; after
// ErrTimeout, ErrLeadershipLost or ErrShutdown the command may or may not
// have committed, and a retry with the same RequestID is safe. Propose
// returns within ApplyTimeout or when ctx is done, whichever comes first.
func (n *Node) Propose(ctx context.Context, cmd fsm.Command) (*fsm.Result, error) {
	if !n.started.Load() || n.isShutdown() {
		return nil, ErrShutdown
	}
	hdr := headerOf(cmd)
	if hdr == nil {
		return nil, fsm.Errorf(fsm.ErrInvalidArgument, "command: %T cannot be proposed", cmd)
	}
	if hdr.RequestID == "" {
		hdr.RequestID = newRequestID()
	}
	hdr.Node = n.cfg.Name
	hdr.Time = time.Now().UnixNano()
	if err := fsm.Validate(cmd); err != nil {
		return nil, err
	}
	if !n.IsLeader() {
		return nil, n.notLeaderErr()
	}
	b, err := fsm.Encode(cmd)
	if err != nil {
		return nil, fmt.Errorf("node: encode command: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.RaftTimeouts.ApplyTimeout)
	defer cancel()
	p := &proposal{ctx: ctx, cmd: cmd, data: b, done: make(chan proposalResult, 1)}
	select {
	case n.proposeCh <- p:
	case <-ctx.Done():
		return nil, ctxErr(ctx) // never queued: certainly not committed
	case <-n.shutdownCh:
		return nil, ErrShutdown
	}
	select {
	case r := <-p.done:
		if r.err != nil {
			return nil, r.err
		}
		if r.res.Err != nil {
			return r.res, r.res.Err
		}
		return r.res, nil
	case <-ctx.Done():
		return nil, ctxErr(ctx)
	case <-n.shutdownCh:
		return nil, fmt.Errorf("%w: the write may or may not have committed", ErrShutdown)
	}
}

// proposer coalesces queued proposals into log entries: a group commit.
// It keeps at most ProposeInflight entries in flight (default 2: one being
// written by the leader while the previous one is written by the
// followers), and raft's apply channel is unbuffered (NewRaftConfig), so
// raft.Apply returns only once raft's leader loop has taken the entry.
// While the proposer waits for a slot or for raft, new proposals
// accumulate and go out together in the next entry; so each raft round
// (one disk sync on every node) carries everything that arrived during
// the previous one, and the number of rounds stays low under load
// without delaying a lone write.
func (n *Node) proposer() {
	limit := n.cfg.RaftTimeouts.ProposeBatchMax
	for {
		var first *proposal
		select {
		case first = <-n.proposeCh:
		case <-n.shutdownCh:
			return
		}
		select {
		case n.inflight <- struct{}{}:
		case <-n.shutdownCh:
			first.finish(nil, ErrShutdown)
			return
		}
		batch, size := []*proposal{first}, len(first.data)
	drain:
		for len(batch) < limit && size < maxBatchBytes {
			select {
			case p := <-n.proposeCh:
				batch = append(batch, p)
				size += len(p.data)
			default:
				break drain
			}
		}
		n.apply(batch)
	}
}

// apply proposes one coalesced entry and hands its future to a goroutine
// that answers the callers and frees the in-flight slot.
func (n *Node) apply(batch []*proposal) {
	live := batch[:0]
	for _, p := range batch {
		if err := p.ctx.Err(); err != nil {
			p.finish(nil, ctxErr(p.ctx)) // never proposed
			continue
		}
		live = append(live, p)
	}
	if len(live) == 0 {
		<-n.inflight
		return
	}
	data := live[0].data
	if len(live) > 1 {
		b := &fsm.Batch{Commands: make([]fsm.Command, len(live))}
		for i, p := range live {
			b.Commands[i] = p.cmd
		}
		var err error
		data, err = fsm.Encode(b)
		if err != nil {
			<-n.inflight
			for _, p := range live {
				p.finish(nil, fmt.Errorf("node: encode batch: %w", err))
			}
			return
		}
	}
	future := n.raft.Apply(data, n.cfg.RaftTimeouts.ApplyTimeout)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		err := future.Error()
		<-n.inflight
		if err != nil {
			err = mapRaftErr(err)
			for _, p := range live {
				p.finish(nil, err)
			}
			return
		}
		resp := future.Response()
		if r, ok := resp.(*fsm.Result); ok && len(live) == 1 && r != nil {
			live[0].finish(r, nil)
			return
		}
		if rs, ok := resp.([]*fsm.Result); ok && len(rs) == len(live) {
			for i, p := range live {
				p.finish(rs[i], nil)
			}
			return
		}
		err = fmt.Errorf("node: unexpected apply response %T for %d commands", resp, len(live))
		n.logger.Error("apply", "error", err)
		for _, p := range live {
			p.finish(nil, err)
		}
	}()
}

// headerOf returns the Header of a command that may be proposed, or nil.
func headerOf(c fsm.Command) *fsm.Header {
	switch c := c.(type) {
	case *fsm.CreateWorkOrder:
		return &c.Header
	case *fsm.Transition:
		return &c.Header
	case *fsm.AddDependency:
		return &c.Header
	case *fsm.RemoveDependency:
		return &c.Header
	case *fsm.MemoryPut:
		return &c.Header
	case *fsm.MemoryDelete:
		return &c.Header
	case *fsm.MemoryImport:
		return &c.Header
	case *fsm.Tick:
		return &c.Header
	}
	return nil
}

// newRequestID returns a random request ID for commands whose caller gave
// none.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// notLeaderErr explains why this node cannot serve a leader-only request.
func (n *Node) notLeaderErr() error {
	name, _, _ := n.Leader()
	if name == "" {
		return ErrNoLeader
	}
	return fmt.Errorf("%w (the leader is %s)", ErrNotLeader, name)
}

// ctxErr turns a done context into this package's error: a deadline is
// ErrTimeout, a cancellation is the context's error.
func ctxErr(ctx context.Context) error {
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return fmt.Errorf("node: %w", err)
}
