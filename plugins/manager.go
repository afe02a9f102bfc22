package plugins

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Manager runs the plugins of a node: one long-lived process per agent
// type, shared by the concurrent tasks of that type up to its capacity.
// When a process dies, the Manager notices at once (the process is its
// child), fails every task the process held with a *CrashError
// (ErrPluginCrashed), and restarts it with exponential backoff; until it
// is back, tasks of its type fail fast with ErrPluginUnavailable so that
// the caller can retry them later or elsewhere.
//
// A Manager is safe for concurrent use. Close stops every process and
// waits for every goroutine it started.
type Manager struct {
	cfg  Config
	sups map[string]*supervisor

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	started bool
	closed  bool
}

// Status is the state of one agent type's plugin, for placement (gossip
// carries the types with capacity and running counts), the API and
// operators.
type Status struct {
	AgentType string `json:"agent_type"`
	Path      string `json:"path"`
	State     State  `json:"state"`
	PID       int    `json:"pid,omitempty"`
	// ProtocolVersion is the negotiated protocol version while running.
	ProtocolVersion int `json:"protocol_version,omitempty"`
	Capacity        int `json:"capacity"`
	Running         int `json:"running"`
	// Restarts counts the restarts after crashes and failed starts.
	Restarts int `json:"restarts"`
	// Backoff is the base delay of the pending or last restart.
	Backoff time.Duration `json:"backoff,omitempty"`
	// NextStart is when a plugin in StateBackoff starts again.
	NextStart time.Time `json:"next_start,omitzero"`
	// LastError says why the plugin is not ready.
	LastError string `json:"last_error,omitempty"`
	// Plugin and PluginVersion are the plugin's name and version, and Type
	// its description of the agent type, once it has started.
	Plugin        string     `json:"plugin,omitempty"`
	PluginVersion string     `json:"plugin_version,omitempty"`
	Type          *AgentType `json:"type,omitempty"`
}

// NewManager validates cfg, finds the plugin binaries and returns a
// Manager that has started nothing yet (see Start).
func NewManager(cfg Config) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("plugins: %w", err)
	}
	cfg = cfg.withDefaults()
	agents, err := cfg.resolve()
	if err != nil {
		return nil, fmt.Errorf("plugins: %w", err)
	}
	cfg.Agents = agents
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{cfg: cfg, sups: make(map[string]*supervisor, len(agents)), ctx: ctx, cancel: cancel}
	for typ, a := range agents {
		m.sups[typ] = newSupervisor(typ, a, &m.cfg)
	}
	return m, nil
}

// Types returns the configured agent types in order.
func (m *Manager) Types() []string {
	return slices.Sorted(maps.Keys(m.sups))
}

// Start launches every plugin and waits until each has started or failed
// its first start, or ctx ends. It returns the failures of first starts
// joined; the Manager keeps restarting those plugins with backoff either
// way, so a node may log the error and carry on. Start may be called
// once.
func (m *Manager) Start(ctx context.Context) error {
	m.mu.Lock()
	switch {
	case m.closed:
		m.mu.Unlock()
		return ErrClosed
	case m.started:
		m.mu.Unlock()
		return errors.New("plugins: manager already started")
	}
	m.started = true
	for _, s := range m.sups {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			s.run(m.ctx)
		}()
	}
	m.mu.Unlock()

	var errs []error
	for _, typ := range m.Types() {
		s := m.sups[typ]
		select {
		case <-ctx.Done():
			return fmt.Errorf("plugins: starting: %w", context.Cause(ctx))
		case <-s.firstDone:
		}
		s.mu.Lock()
		if s.state != StateReady && s.lastErr != nil {
			errs = append(errs, fmt.Errorf("agent type %q: %w", typ, s.lastErr))
		}
		s.mu.Unlock()
	}
	return errors.Join(errs...)
}

// WaitReady waits until the plugin of agentType runs, through any number
// of restarts, or ctx ends.
func (m *Manager) WaitReady(ctx context.Context, agentType string) error {
	s, err := m.supervisor(agentType)
	if err != nil {
		return err
	}
	_, err = s.readyClient(ctx, true)
	return err
}

// Execute runs task on the plugin of task.AgentType and returns its
// result, with the contract of Client.Execute. It waits for a free slot of
// the type's capacity, and for the plugin while it starts; task.Config,
// when empty, is set from the type's AgentConfig.Config (the caller's
// task is not modified).
//
// Errors, besides those of Client.Execute: ErrUnknownAgentType for a type
// no plugin runs; ErrPluginUnavailable while the type's plugin waits out a
// restart backoff; ErrClosed after Close. Retryable tells which errors
// leave the task fit to try again.
func (m *Manager) Execute(ctx context.Context, task *Task, onEvent func(Event)) (*Result, error) {
	if task == nil {
		return nil, fmt.Errorf("%w: no task", ErrInvalidTask)
	}
	s, err := m.supervisor(task.AgentType)
	if err != nil {
		return nil, err
	}
	t := *task
	if len(t.Config) == 0 {
		t.Config = s.agent.Config
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidTask, err)
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(m.ctx, func() { cancel(ErrClosed) })
	defer stop()

	if err := s.slots.acquire(ctx); err != nil {
		return nil, m.waitError(&t, err)
	}
	defer s.slots.release()
	client, err := s.readyClient(ctx, false)
	if err != nil {
		return nil, m.waitError(&t, err)
	}
	res, err := client.Execute(ctx, &t, onEvent)
	var crash *CrashError
	if errors.As(err, &crash) && client.Crashed() == nil && m.ctx.Err() == nil {
		// The connection broke but the process lives on: it is of no use
		// any more, so kill it and let the supervisor start a fresh one.
		s.logger.Error("lost the connection to the plugin; killing it", "pid", client.PID(), "error", err)
		_ = client.Kill()
	}
	return res, err
}

// waitError is the error of a task that ended while waiting for a slot or
// for its plugin.
func (m *Manager) waitError(t *Task, err error) error {
	if errors.Is(err, ErrClosed) {
		return ErrClosed
	}
	if errors.Is(err, ErrPluginUnavailable) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("task %s: waiting for agent %q: %w", t.WorkOrderID, t.AgentType, err)
}

// supervisor returns the supervisor of agentType.
func (m *Manager) supervisor(agentType string) (*supervisor, error) {
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	s, ok := m.sups[agentType]
	if !ok {
		return nil, fmt.Errorf("%w %q: this node runs %s", ErrUnknownAgentType, agentType, typeList(m.Types()))
	}
	return s, nil
}

func typeList(types []string) string {
	if len(types) == 0 {
		return "no agents"
	}
	return strings.Join(types, ", ")
}

// Status returns the state of every agent type's plugin, by type.
func (m *Manager) Status() []Status {
	out := make([]Status, 0, len(m.sups))
	for _, typ := range m.Types() {
		out = append(out, m.sups[typ].status())
	}
	return out
}

// Close fails the tasks in flight with ErrClosed, stops every plugin
// process and waits until every goroutine of the Manager has ended. It
// may be called more than once.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
	return nil
}
