package plugins

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// State is where an agent type's plugin process is in its life.
type State int

// The states of a plugin process.
const (
	// StateStopped: not started yet, or stopped by Close.
	StateStopped State = iota
	// StateStarting: being launched and described.
	StateStarting
	// StateReady: running and taking tasks.
	StateReady
	// StateBackoff: it crashed or failed to start, and waits to be
	// started again; tasks fail with ErrPluginUnavailable meanwhile.
	StateBackoff
)

// String returns "stopped", "starting", "ready" or "backoff".
func (s State) String() string {
	switch s {
	case StateStarting:
		return "starting"
	case StateReady:
		return "ready"
	case StateBackoff:
		return "backoff"
	}
	return "stopped"
}

// MarshalText encodes the state as its name.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// supervisor keeps one agent type's plugin process running: it launches
// it, restarts it with backoff when it dies, and hands its Client to
// tasks.
type supervisor struct {
	typ    string
	agent  AgentConfig
	cfg    *Config // the Manager's, with defaults
	logger hclog.Logger
	slots  *slots

	mu        sync.Mutex
	state     State
	client    *Client
	desc      *Description
	restarts  int
	lastErr   error
	backoff   time.Duration // base delay of the pending or last restart
	nextStart time.Time
	change    chan struct{} // closed and replaced on every change of state
	firstDone chan struct{} // closed when the first start succeeded or failed
}

func newSupervisor(typ string, agent AgentConfig, cfg *Config) *supervisor {
	capacity := agent.Capacity
	if capacity == 0 {
		capacity = cfg.DefaultCapacity
	}
	return &supervisor{
		typ:       typ,
		agent:     agent,
		cfg:       cfg,
		logger:    cfg.Logger.Named("plugin").Named(typ),
		slots:     newSlots(capacity),
		lastErr:   errors.New("not started"),
		change:    make(chan struct{}),
		firstDone: make(chan struct{}),
	}
}

// setState changes the state under s.mu and wakes the waiters.
func (s *supervisor) setStateLocked(st State) {
	s.state = st
	close(s.change)
	s.change = make(chan struct{})
}

// run keeps the plugin running until ctx ends.
func (s *supervisor) run(ctx context.Context) {
	var (
		delay time.Duration
		first = true
	)
	defer func() {
		s.mu.Lock()
		s.client = nil
		s.setStateLocked(StateStopped)
		s.lastErr = ErrClosed
		s.mu.Unlock()
		if first {
			close(s.firstDone)
		}
	}()
	for {
		s.mu.Lock()
		s.setStateLocked(StateStarting)
		s.mu.Unlock()

		client, desc, err := s.start(ctx)
		if ctx.Err() != nil {
			if client != nil {
				_ = client.Close()
			}
			return
		}
		var startedAt time.Time
		if err == nil {
			startedAt = time.Now()
			s.ready(client, desc)
			if first {
				first = false
				close(s.firstDone)
			}
			select {
			case <-ctx.Done():
				_ = client.Close()
				return
			case <-client.Done():
			}
			err = client.Crashed()
			if err == nil { // died while being closed: cannot happen before ctx ends
				err = &CrashError{AgentType: s.typ, Path: client.Path(), PID: client.PID(), Err: errors.New("process ended")}
			}
			s.logger.Error("plugin crashed; its tasks failed", "pid", client.PID(), "error", err)
			_ = client.Close()
		} else {
			s.logger.Error("plugin failed to start", "path", s.agent.Path, "error", err)
		}

		if delay == 0 || (!startedAt.IsZero() && time.Since(startedAt) >= s.cfg.Backoff.ResetAfter) {
			delay = s.cfg.Backoff.Initial
		} else {
			delay = min(2*delay, s.cfg.Backoff.Max)
		}
		wait := jitter(delay, s.cfg.Backoff.Jitter)
		s.mu.Lock()
		s.client = nil
		s.lastErr = err
		s.backoff = delay
		s.nextStart = time.Now().Add(wait)
		s.restarts++
		s.setStateLocked(StateBackoff)
		s.mu.Unlock()
		if first {
			first = false
			close(s.firstDone)
		}
		s.logger.Info("restarting plugin after backoff", "backoff", wait.Round(time.Millisecond), "restarts", s.restarts)

		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// jitter spreads d uniformly by ± frac.
func jitter(d time.Duration, frac float64) time.Duration {
	if frac <= 0 {
		return d
	}
	return time.Duration(float64(d) * (1 + frac*(2*rand.Float64()-1)))
}

// start launches the plugin and checks that it offers the agent type.
func (s *supervisor) start(ctx context.Context) (*Client, *Description, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.StartTimeout)
	defer cancel()
	client, err := Launch(ctx, LaunchConfig{
		Path:         s.agent.Path,
		Args:         s.agent.Args,
		Env:          append(append([]string(nil), s.cfg.Env...), s.agent.Env...),
		AgentType:    s.typ,
		Logger:       s.logger,
		StartTimeout: s.cfg.StartTimeout,
		DisableMTLS:  s.cfg.DisableMTLS,
		TempDir:      s.cfg.TempDir,
	})
	if err != nil {
		return nil, nil, err
	}
	desc, err := client.Describe(ctx)
	if err == nil {
		err = desc.Validate()
	}
	if err == nil && desc.Type(s.typ) == nil {
		err = fmt.Errorf("%w: plugin %s does not offer agent type %q", ErrUnknownAgentType, s.agent.Path, s.typ)
	}
	if err != nil {
		_ = client.Close()
		return nil, nil, fmt.Errorf("plugin %s: %w", s.agent.Path, err)
	}
	return client, desc, nil
}

// ready publishes a started client and sets the capacity from what the
// plugin declared.
func (s *supervisor) ready(client *Client, desc *Description) {
	capacity := s.agent.Capacity
	if max := desc.Type(s.typ).MaxConcurrency; max > 0 {
		if capacity == 0 {
			capacity = max
		} else if capacity > max {
			s.logger.Warn("capacity lowered to the plugin's max concurrency", "configured", capacity, "max_concurrency", max)
			capacity = max
		}
	}
	if capacity == 0 {
		capacity = s.cfg.DefaultCapacity
	}
	s.slots.setLimit(capacity)
	s.mu.Lock()
	s.client, s.desc, s.lastErr = client, desc, nil
	s.setStateLocked(StateReady)
	s.mu.Unlock()
	s.logger.Info("plugin ready", "path", client.Path(), "pid", client.PID(), "protocol", client.Version(),
		"plugin", desc.Name, "version", desc.Version, "capacity", capacity)
}

// readyClient returns the running client, waiting while the plugin
// starts. Unless wait is set, a plugin in backoff (or not started) fails
// at once with ErrPluginUnavailable; with wait, only ctx ends the wait.
func (s *supervisor) readyClient(ctx context.Context, wait bool) (*Client, error) {
	for {
		s.mu.Lock()
		st, client, change := s.state, s.client, s.change
		var err error
		switch st {
		case StateBackoff:
			err = fmt.Errorf("%w: agent type %q restarts in %s after: %v", ErrPluginUnavailable, s.typ,
				time.Until(s.nextStart).Round(time.Millisecond), s.lastErr)
		case StateStopped:
			err = fmt.Errorf("%w: agent type %q: %v", ErrPluginUnavailable, s.typ, s.lastErr)
			if errors.Is(s.lastErr, ErrClosed) {
				err = ErrClosed
			}
		}
		s.mu.Unlock()
		if st == StateReady {
			crash := client.Crashed()
			if crash == nil {
				return client, nil
			}
			// Dead, and the supervisor has yet to notice.
			err = fmt.Errorf("%w: agent type %q: %v", ErrPluginUnavailable, s.typ, crash)
		}
		if err != nil && (!wait || err == ErrClosed) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return nil, fmt.Errorf("%w (%w)", context.Cause(ctx), err)
			}
			return nil, context.Cause(ctx)
		case <-change:
		}
	}
}

// status reports the supervisor's state.
func (s *supervisor) status() Status {
	used, limit := s.slots.counts()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{
		AgentType: s.typ,
		Path:      s.agent.Path,
		State:     s.state,
		Capacity:  limit,
		Running:   used,
		Restarts:  s.restarts,
		Backoff:   s.backoff,
	}
	if s.client != nil {
		st.PID = s.client.PID()
		st.ProtocolVersion = s.client.Version()
	}
	if s.state == StateBackoff {
		st.NextStart = s.nextStart
	}
	if s.lastErr != nil && s.state != StateReady {
		st.LastError = s.lastErr.Error()
	}
	if s.desc != nil {
		t := *s.desc.Type(s.typ)
		st.Type = &t
		st.Plugin, st.PluginVersion = s.desc.Name, s.desc.Version
	}
	return st
}
