package plugins

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
	pb "github.com/hive-swarm/hive/plugins/proto"
	"google.golang.org/grpc"
)

// DefaultStartTimeout bounds a plugin's start up to its handshake.
const DefaultStartTimeout = 30 * time.Second

// crashWait is how long a call whose stream broke waits for the process
// to be reaped, so that its error can say how the process ended.
const crashWait = 2 * time.Second

// LaunchConfig says how to start one plugin process.
type LaunchConfig struct {
	Path string   // the plugin binary
	Args []string // its arguments
	// Env is added to the node's environment for the plugin.
	Env []string
	// AgentType names the process in errors and logs; optional.
	AgentType string
	// Logger receives the plugin's stderr (its hclog lines at their own
	// levels) and anything it prints to stdout or stderr after serving.
	// Nil discards them.
	Logger hclog.Logger
	// Versions are the protocol versions to offer; nil means
	// SupportedVersions(). Tests and the conformance kit set others.
	Versions []int
	// StartTimeout bounds the start up to the handshake; zero means
	// DefaultStartTimeout.
	StartTimeout time.Duration
	// DisableMTLS turns off go-plugin's automatic mutual TLS on the
	// connection (a one-time certificate per process). Leave it on unless
	// a benchmark says otherwise.
	DisableMTLS bool
	// TempDir, when set, is an existing directory for the plugin's
	// temporary files: go-plugin's socket directory is made in it, and
	// it is the process's TMPDIR (unless Env sets another). Empty: the
	// system's temporary directory, which a FROM scratch image lacks.
	TempDir string
}

// Client is one running plugin process and its gRPC connection. It is safe
// for concurrent use: any number of Execute calls may share it. When the
// process dies every call in flight fails at once with a *CrashError.
//
// At protocol version 2 every task runs on one long-lived Session stream
// (opened at the first Execute, and again after it broke); at version 1
// each task is an Execute call of its own.
type Client struct {
	pc        *plugin.Client
	rpc       pb.AgentClient
	r         *procRunner
	path      string
	agentType string
	version   int
	logger    hclog.Logger

	mu     sync.Mutex
	calls  map[uint64]context.CancelCauseFunc
	nextID uint64
	closed bool
	crash  *CrashError // set when the process died

	// base is the context of the session stream (protocol version 2)
	// and of watch, ended by Close; sess is the open session, if any.
	base       context.Context
	baseCancel context.CancelFunc
	sessMu     sync.Mutex // serialises opening sessions
	sess       atomic.Pointer[hostSession]

	wg sync.WaitGroup
}

// Launch starts the plugin binary, performs the handshake and connects.
// A plugin that speaks none of the offered versions is refused with a
// *VersionError. Cancelling ctx aborts the start; it does not bound the
// life of the returned Client, which runs until Close.
func Launch(ctx context.Context, cfg LaunchConfig) (*Client, error) {
	if cfg.Path == "" {
		return nil, errors.New("launch plugin: no path")
	}
	if fi, err := os.Stat(cfg.Path); err != nil {
		return nil, fmt.Errorf("launch plugin: %w", err)
	} else if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("launch plugin: %s is not an executable file", cfg.Path)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	versions := cfg.Versions
	if len(versions) == 0 {
		versions = SupportedVersions()
	}
	startTimeout := cfg.StartTimeout
	if startTimeout <= 0 {
		startTimeout = DefaultStartTimeout
	}

	var (
		mu        sync.Mutex
		r         *procRunner
		cancelled bool
	)
	stdio := logger.StandardWriter(&hclog.StandardLoggerOptions{ForceLevel: hclog.Info})
	var sockets *plugin.UnixSocketConfig
	if cfg.TempDir != "" {
		sockets = &plugin.UnixSocketConfig{TempDir: cfg.TempDir}
	}
	pc := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  plugin.HandshakeConfig{MagicCookieKey: MagicCookieKey, MagicCookieValue: MagicCookieValue},
		VersionedPlugins: hostPluginSets(versions),
		RunnerFunc: func(_ hclog.Logger, spec *exec.Cmd, _ string) (runner.Runner, error) {
			cmd := exec.Command(cfg.Path, cfg.Args...)
			cmd.Env = append(pluginEnv(logger, cfg.TempDir, cfg.Env), spec.Env...)
			cmd.SysProcAttr = sysProcAttr()
			pr, err := newProcRunner(cmd)
			if err != nil {
				return nil, err
			}
			mu.Lock()
			defer mu.Unlock()
			if cancelled {
				return nil, ctx.Err()
			}
			r = pr
			return pr, nil
		},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           logger,
		StartTimeout:     startTimeout,
		AutoMTLS:         !cfg.DisableMTLS,
		UnixSocketConfig: sockets,
		SkipHostEnv:      true, // RunnerFunc adds the node's environment before cfg.Env
		SyncStdout:       stdio,
		SyncStderr:       stdio,
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(MaxMessageSize), grpc.MaxCallSendMsgSize(MaxMessageSize))},
	})

	started := make(chan error, 1)
	go func() {
		_, err := pc.Start()
		started <- err
	}()
	var err error
	select {
	case err = <-started:
	case <-ctx.Done():
		mu.Lock()
		cancelled = true
		if r != nil {
			_ = r.Kill(context.Background())
		}
		mu.Unlock()
		<-started
		err = ctx.Err()
	}
	if err != nil {
		pc.Kill()
		mu.Lock()
		pr := r
		mu.Unlock()
		if pr != nil {
			pr.waitFinished()
			if v, ok := pr.handshakeVersion(); ok && !slices.Contains(versions, v) {
				return nil, &VersionError{Path: cfg.Path, Plugin: v, Host: slices.Clone(versions)}
			}
		}
		return nil, fmt.Errorf("launch plugin %s: %w", cfg.Path, err)
	}

	ac, err := dispense(pc)
	if err != nil {
		pc.Kill()
		r.waitFinished()
		return nil, fmt.Errorf("connect to plugin %s: %w", cfg.Path, err)
	}
	base, baseCancel := context.WithCancel(context.Background())
	c := &Client{
		base:       base,
		baseCancel: baseCancel,
		pc:         pc,
		rpc:        ac,
		r:          r,
		path:       cfg.Path,
		agentType:  cfg.AgentType,
		version:    pc.NegotiatedVersion(),
		logger:     logger,
		calls:      make(map[uint64]context.CancelCauseFunc),
	}
	c.wg.Add(1)
	go c.watch()
	return c, nil
}

// dispense connects to a started plugin and returns its agent client.
func dispense(pc *plugin.Client) (pb.AgentClient, error) {
	rpcClient, err := pc.Client()
	if err != nil {
		return nil, err
	}
	raw, err := rpcClient.Dispense(PluginName)
	if err != nil {
		return nil, err
	}
	ac, ok := raw.(pb.AgentClient)
	if !ok {
		return nil, fmt.Errorf("dispensed %T, not an agent client", raw)
	}
	return ac, nil
}

// pluginEnv is the environment of a plugin: the node's, without the
// variables the host sets itself, then TMPDIR (when tempDir is set), then
// extra; a later duplicate wins.
func pluginEnv(logger hclog.Logger, tempDir string, extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, ProbeEnv+"=") && !strings.HasPrefix(kv, LogLevelEnv+"=") {
			env = append(env, kv)
		}
	}
	env = append(env, LogLevelEnv+"="+logLevelName(logger))
	if tempDir != "" {
		env = append(env, "TMPDIR="+tempDir)
	}
	return append(env, extra...)
}

// watch fails every call in flight as soon as the process dies.
func (c *Client) watch() {
	defer c.wg.Done()
	select {
	case <-c.base.Done():
		return
	case <-c.r.done:
	}
	c.mu.Lock()
	crash := c.crashLocked()
	if crash == nil { // closed
		c.mu.Unlock()
		return
	}
	calls := c.calls
	c.calls = make(map[uint64]context.CancelCauseFunc)
	c.mu.Unlock()
	c.logger.Error("plugin process died", "pid", c.r.PID(), "error", crash.Err, "tasks_failed", len(calls))
	for _, cancel := range calls {
		cancel(crash)
	}
}

// crashLocked returns the *CrashError of the process, which has ended,
// or nil if the Client was closed; c.mu is held.
func (c *Client) crashLocked() *CrashError {
	if c.crash == nil && !c.closed {
		c.crash = &CrashError{AgentType: c.agentType, Path: c.path, PID: c.r.PID(), Err: c.r.exitReason()}
	}
	return c.crash
}

// PID returns the process id.
func (c *Client) PID() int { return c.r.PID() }

// Path returns the plugin binary.
func (c *Client) Path() string { return c.path }

// Version returns the negotiated protocol version.
func (c *Client) Version() int { return c.version }

// Done is closed when the process has ended, for whatever reason.
func (c *Client) Done() <-chan struct{} { return c.r.done }

// Crashed returns the *CrashError of a process that died on its own (or
// by Kill), or nil while it runs or when Close stopped it.
func (c *Client) Crashed() error {
	select {
	case <-c.r.done:
	default:
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if crash := c.crashLocked(); crash != nil {
		return crash
	}
	return nil
}

// Kill kills the process at once (SIGKILL) without closing the Client, as
// if it had crashed: calls in flight fail with a *CrashError. Close must
// still be called.
func (c *Client) Kill() error {
	return c.r.Kill(context.Background())
}

// Close cancels every call in flight (they fail with ErrClosed, or with
// the *CrashError of a process that already died), stops the
// process (gracefully, then by force after two seconds) and waits until
// every goroutine of the Client has ended. It may be called more than once.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.wg.Wait()
		return nil
	}
	// Calls of a process that already died fail with its crash.
	var cause error = ErrClosed
	select {
	case <-c.r.done:
		cause = c.crashLocked()
	default:
	}
	c.closed = true
	calls := c.calls
	c.calls = nil
	c.mu.Unlock()
	for _, cancel := range calls {
		cancel(cause)
	}
	c.baseCancel()
	c.pc.Kill()
	c.r.waitFinished()
	c.wg.Wait()
	return nil
}

// begin registers a call so that a crash or Close can end it; the caller
// must call the returned end.
func (c *Client) begin(ctx context.Context) (context.Context, func(), error) {
	ctx, cancel := context.WithCancelCause(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		cancel(nil)
		return nil, nil, ErrClosed
	case c.crash != nil:
		cancel(nil)
		return nil, nil, c.crash
	}
	id := c.nextID
	c.nextID++
	c.calls[id] = cancel
	return ctx, func() {
		c.mu.Lock()
		delete(c.calls, id)
		c.mu.Unlock()
		cancel(nil)
	}, nil
}

// Describe asks the plugin what it offers. The description is returned
// as sent; Description.Validate checks it.
func (c *Client) Describe(ctx context.Context) (*Description, error) {
	ctx, end, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end()
	resp, err := c.rpc.Describe(ctx, &pb.DescribeRequest{})
	if err != nil {
		return nil, fmt.Errorf("describe: %w", c.callError(ctx, nil, err))
	}
	d := DescriptionFromProto(resp)
	d.ProtocolVersion = c.version
	return d, nil
}

// logLevelName is the name of logger's level for LogLevelEnv.
func logLevelName(logger hclog.Logger) string {
	switch {
	case logger.IsTrace():
		return "trace"
	case logger.IsDebug():
		return "debug"
	case logger.IsInfo():
		return "info"
	case logger.IsWarn():
		return "warn"
	}
	return "error"
}
