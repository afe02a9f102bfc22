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

// proposal is one caller's command, or a group of commands proposed
// together (ProposeBatch), waiting in the proposer's queue. A group always
// goes into one log entry.
type proposal struct {
	ctx  context.Context
	cmds []fsm.Command // cmds[i] is answered by res[i]
	size int           // about the encoded size of cmds
	one  [1]fsm.Command
	done chan proposalResult // capacity 1: the proposer never blocks on it
}

// proposalResult answers a proposal: one Result per command, or err for
// them all.
type proposalResult struct {
	res []*fsm.Result
	err error
}

func (p *proposal) finish(res []*fsm.Result, err error) {
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
	if err := n.prepare(cmd); err != nil {
		return nil, err
	}
	if !n.IsLeader() {
		return nil, n.notLeaderErr()
	}
	// The command is encoded once, in its entry: alone, or in a batch.
	p := &proposal{size: approxSize(cmd)}
	p.one[0] = cmd
	p.cmds = p.one[:]
	res, err := n.submit(ctx, p)
	if err != nil {
		return nil, err
	}
	r := res[0]
	if r.Err != nil {
		return r, r.Err
	}
	return r, nil
}

// ProposeBatch commits cmds as Propose commits each of them, and answers
// in the same order: results[i] and errs[i] are what Propose would have
// returned for cmds[i]. The valid commands go into as few log entries as
// ProposeBatchMax and the 1 MiB bound allow (one, for up to that many
// commands), so a batch of writes forwarded by a follower costs the
// leader a single raft round.
func (n *Node) ProposeBatch(ctx context.Context, cmds []fsm.Command) (results []*fsm.Result, errs []error) {
	results = make([]*fsm.Result, len(cmds))
	errs = make([]error, len(cmds))
	idx := make([]int, 0, len(cmds))
	for i, cmd := range cmds {
		if err := n.prepare(cmd); err != nil {
			errs[i] = err
			continue
		}
		idx = append(idx, i)
	}
	if len(idx) == 0 {
		return results, errs
	}
	if !n.IsLeader() {
		err := n.notLeaderErr()
		for _, i := range idx {
			errs[i] = err
		}
		return results, errs
	}
	limit := n.cfg.RaftTimeouts.ProposeBatchMax
	type pending struct {
		p   *proposal
		idx []int
	}
	var sent []pending
	for len(idx) > 0 {
		// A group holds up to ProposeBatchMax commands and about
		// maxBatchBytes, and at least one command.
		p := &proposal{}
		k := 0
		for k < len(idx) && k < limit {
			size := approxSize(cmds[idx[k]])
			if k > 0 && p.size+size > maxBatchBytes {
				break
			}
			p.cmds = append(p.cmds, cmds[idx[k]])
			p.size += size
			k++
		}
		sent = append(sent, pending{p: p, idx: idx[:k]})
		idx = idx[k:]
	}
	// The groups are queued together and answered together; each waits
	// for its own entry.
	ctx, cancel := context.WithTimeout(ctx, n.cfg.RaftTimeouts.ApplyTimeout)
	defer cancel()
	for _, s := range sent {
		s.p.ctx = ctx
		s.p.done = make(chan proposalResult, 1)
	}
	for k, s := range sent {
		if err := n.enqueue(ctx, s.p); err != nil {
			for _, s := range sent[k:] {
				for _, i := range s.idx {
					errs[i] = err
				}
			}
			sent = sent[:k]
			break
		}
	}
	for _, s := range sent {
		res, err := n.wait(ctx, s.p)
		for j, i := range s.idx {
			if err != nil {
				errs[i] = err
				continue
			}
			results[i], errs[i] = res[j], res[j].Err
		}
	}
	return results, errs
}

// prepare stamps and validates a command about to be proposed.
func (n *Node) prepare(cmd fsm.Command) error {
	if !n.started.Load() || n.isShutdown() {
		return ErrShutdown
	}
	hdr := headerOf(cmd)
	if hdr == nil {
		return fsm.Errorf(fsm.ErrInvalidArgument, "command: %T cannot be proposed", cmd)
	}
	if hdr.RequestID == "" {
		hdr.RequestID = newRequestID()
	}
	hdr.Node = n.cfg.Name
	hdr.Time = time.Now().UnixNano()
	return fsm.Validate(cmd)
}

// submit queues p and waits for its answer, within ApplyTimeout.
func (n *Node) submit(ctx context.Context, p *proposal) ([]*fsm.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.RaftTimeouts.ApplyTimeout)
	defer cancel()
	p.ctx = ctx
	p.done = make(chan proposalResult, 1)
	if err := n.enqueue(ctx, p); err != nil {
		return nil, err
	}
	return n.wait(ctx, p)
}

// enqueue hands p to the proposer.
func (n *Node) enqueue(ctx context.Context, p *proposal) error {
	select {
	case n.proposeCh <- p:
		return nil
	case <-ctx.Done():
		return ctxErr(ctx) // never queued: certainly not committed
	case <-n.shutdownCh:
		return ErrShutdown
	}
}

// wait waits for the answer to a queued proposal.
func (n *Node) wait(ctx context.Context, p *proposal) ([]*fsm.Result, error) {
	select {
	case r := <-p.done:
		return r.res, r.err
	case <-ctx.Done():
		return nil, ctxErr(ctx)
	case <-n.shutdownCh:
		return nil, fmt.Errorf("%w: the write may or may not have committed", ErrShutdown)
	}
}

// approxSize is about the encoded size of c, without encoding it.
func approxSize(c fsm.Command) int {
	if c, ok := c.(*fsm.CreateWorkOrder); ok {
		s := &c.Spec
		n := 96 + len(c.RequestID) + len(c.Node) + len(s.Title) + len(s.Description) +
			len(s.Kind) + len(s.Bucket) + len(s.Stage) + len(s.Signal) + len(s.Parent) + len(s.Payload)
		for _, l := range s.Labels {
			n += len(l) + 2
		}
		for _, d := range s.DependsOn {
			n += len(d) + 2
		}
		return n
	}
	b, err := fsm.Encode(c)
	if err != nil {
		return 0 // the entry's encoding reports the error
	}
	return len(b)
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
// without delaying a lone write. A group from ProposeBatch is never
// split across entries.
func (n *Node) proposer() {
	limit := n.cfg.RaftTimeouts.ProposeBatchMax
	var next *proposal // taken from the queue but left for the next entry
	for {
		first := next
		next = nil
		if first == nil {
			select {
			case first = <-n.proposeCh:
			case <-n.shutdownCh:
				return
			}
		}
		select {
		case n.inflight <- struct{}{}:
		case <-n.shutdownCh:
			first.finish(nil, ErrShutdown)
			return
		}
		batch, count, size := []*proposal{first}, len(first.cmds), first.size
	drain:
		for count < limit && size < maxBatchBytes {
			select {
			case p := <-n.proposeCh:
				if count+len(p.cmds) > limit {
					next = p
					break drain
				}
				batch = append(batch, p)
				count += len(p.cmds)
				size += p.size
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
	count := 0
	for _, p := range batch {
		if err := p.ctx.Err(); err != nil {
			p.finish(nil, ctxErr(p.ctx)) // never proposed
			continue
		}
		live = append(live, p)
		count += len(p.cmds)
	}
	if count == 0 {
		<-n.inflight
		return
	}
	var c fsm.Command = live[0].cmds[0]
	if count > 1 {
		b := &fsm.Batch{Commands: make([]fsm.Command, 0, count)}
		for _, p := range live {
			b.Commands = append(b.Commands, p.cmds...)
		}
		c = b
	}
	data, err := fsm.Encode(c)
	if err != nil {
		// Unreachable: every command prepare accepts encodes.
		<-n.inflight
		for _, p := range live {
			p.finish(nil, fmt.Errorf("node: encode entry: %w", err))
		}
		return
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
		var rs []*fsm.Result
		switch resp := future.Response().(type) {
		case *fsm.Result:
			if resp != nil && count == 1 {
				rs = []*fsm.Result{resp}
			}
		case []*fsm.Result:
			if len(resp) == count {
				rs = resp
			}
		}
		for _, r := range rs {
			if r == nil {
				rs = nil
				break
			}
		}
		if rs == nil {
			err = fmt.Errorf("node: unexpected apply response %T for %d commands", future.Response(), count)
			n.logger.Error("apply", "error", err)
			for _, p := range live {
				p.finish(nil, err)
			}
			return
		}
		for _, p := range live {
			p.finish(rs[:len(p.cmds):len(p.cmds)], nil)
			rs = rs[len(p.cmds):]
		}
	}()
}

// headerOf returns the Header of a command that may be proposed, or nil.
func headerOf(c fsm.Command) *fsm.Header {
	if h, ok := c.(interface{ CommandHeader() *fsm.Header }); ok {
		return h.CommandHeader()
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
