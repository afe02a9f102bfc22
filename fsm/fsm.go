package fsm

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
)

var (
	_ raft.FSM         = (*FSM)(nil)
	_ raft.BatchingFSM = (*FSM)(nil)
)

// FSM is Hive's replicated state machine. Raft calls Apply/ApplyBatch from
// one goroutine; View, AppliedIndex and WaitForIndex may be called from any
// goroutine at any time.
//
// Apply is deterministic: it reads no clock, randomness, network, disk or
// map order. "Now" for a command is max(state clock, Header.Time), and the
// state clock is set to it, so times recorded in the state never go
// backwards even when proposers' clocks disagree.
type FSM struct {
	cfg Config

	mu  sync.Mutex // serialises the writer with clones for readers
	st  *state     // live state, written under mu
	pub *state     // immutable clone of st for readers; nil when stale
	tx  tx         // reused per-command overlay
	dec *decoder   // Apply's decoder (reused structs, interned names)

	applied atomic.Uint64
	waitMu  sync.Mutex
	waitCh  chan struct{} // closed and replaced after an apply, if anyone took it
	waitUse bool          // waitCh was handed to a waiter
}

// New returns an empty FSM. cfg must be identical on every node; zero
// fields take DefaultConfig's values. New panics on a Config that
// Config.Validate rejects, since that is a programming error.
func New(cfg Config) *FSM {
	def := DefaultConfig()
	if cfg.SLA == nil {
		cfg.SLA = def.SLA
	}
	if cfg.IdempotencyMax == 0 {
		cfg.IdempotencyMax = def.IdempotencyMax
	}
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	return &FSM{cfg: cfg.clone(), st: newState(), dec: newDecoder(), waitCh: make(chan struct{})}
}

// Apply applies one log entry. For a command it returns a *Result; for a
// Batch a []*Result in the same order; for other log types, and for an
// unknown command type marked IgnoreUnknownTypeFlag, nil. A command entry
// that cannot be decoded panics: continuing would diverge from the nodes
// that understood it.
func (f *FSM) Apply(l *raft.Log) interface{} {
	f.mu.Lock()
	out := f.applyLocked(l)
	f.mu.Unlock()
	f.notify(l.Index)
	return out
}

// ApplyBatch applies several log entries in one pass and returns one
// response per entry, as Apply would.
func (f *FSM) ApplyBatch(logs []*raft.Log) []interface{} {
	if len(logs) == 0 {
		return nil
	}
	out := make([]interface{}, len(logs))
	f.mu.Lock()
	for i, l := range logs {
		out[i] = f.applyLocked(l)
	}
	f.mu.Unlock()
	f.notify(logs[len(logs)-1].Index)
	return out
}

func (f *FSM) applyLocked(l *raft.Log) interface{} {
	f.pub = nil
	s := f.st
	if l.Index > s.index {
		s.index = l.Index
	}
	if l.Type != raft.LogCommand {
		return nil
	}
	c, err := f.dec.decode(l.Data, true)
	if err != nil {
		if isIgnorable(err) {
			return nil
		}
		panic(fmt.Sprintf("fsm: fatal: cannot decode the command at raft index %d (%d bytes): %v", l.Index, len(l.Data), err))
	}
	if b, ok := c.(*Batch); ok {
		res := make([]*Result, len(b.Commands))
		for i, sub := range b.Commands {
			res[i] = f.applyCommand(l.Index, sub)
		}
		return res
	}
	return f.applyCommand(l.Index, c)
}

func (f *FSM) notify(index uint64) {
	if index > f.applied.Load() {
		f.applied.Store(index)
	}
	f.wake()
}

// wake closes and replaces the wait channel when a waiter holds it.
func (f *FSM) wake() {
	f.waitMu.Lock()
	if f.waitUse {
		close(f.waitCh)
		f.waitCh = make(chan struct{})
		f.waitUse = false
	}
	f.waitMu.Unlock()
}

// AppliedIndex returns the raft index of the last applied entry.
func (f *FSM) AppliedIndex() uint64 { return f.applied.Load() }

// AppliedWatch returns AppliedIndex() and a channel that is closed when
// it may have changed: at the next apply or restore after the call. A
// caller waiting for index n in a select with other channels loops:
// while the index returned is below n, it waits for the channel and
// calls AppliedWatch again (as WaitForIndex does), with no goroutine.
func (f *FSM) AppliedWatch() (uint64, <-chan struct{}) {
	// The channel is taken before the index is read, so an apply between
	// the two closes it: no wakeup is lost.
	f.waitMu.Lock()
	ch := f.waitCh
	f.waitUse = true
	f.waitMu.Unlock()
	return f.applied.Load(), ch
}

// WaitForIndex blocks until AppliedIndex() ≥ index or ctx is done.
func (f *FSM) WaitForIndex(ctx context.Context, index uint64) error {
	for {
		applied, ch := f.AppliedWatch()
		if applied >= index {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// View returns a read-only, point-in-time view of the state. It is safe to
// use concurrently with Apply and costs a few pointer copies; it never
// changes after it is taken. Objects it returns are shared and immutable:
// callers must not modify them.
func (f *FSM) View() *View {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pub == nil {
		f.pub = f.st.clone()
	}
	return &View{s: f.pub}
}

// Snapshot captures the current state by pointer (an O(1) copy-on-write
// clone); the encoding happens in Persist, concurrently with Apply.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	return &fsmSnapshot{s: f.View().s}, nil
}

// Restore replaces the state with one read from rc (written by Persist).
// The new state is built and validated aside and swapped in only when
// complete; on error the current state is kept.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	s, err := readSnapshot(rc)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.st = s
	f.pub = nil
	f.mu.Unlock()
	f.applied.Store(s.index)
	f.wake()
	return nil
}
