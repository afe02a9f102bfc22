package sdk

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"github.com/hive-swarm/hive/plugins"
	pb "github.com/hive-swarm/hive/plugins/proto"
	"google.golang.org/grpc"
)

// Option changes how Serve runs.
type Option func(*serveConfig)

type serveConfig struct {
	logger   hclog.Logger
	versions []int
}

// WithProtocolVersions limits the protocol versions the plugin offers
// (by default every version in plugins.SupportedVersions). It exists to
// test hosts against plugins of older protocol versions; a plugin has no
// other reason to use it.
func WithProtocolVersions(versions ...int) Option {
	return func(c *serveConfig) { c.versions = versions }
}

// WithLogger makes the plugin log through l instead of the default: JSON
// lines on stderr at the level the host asks for, which the host re-logs
// through its own logger. l must write to stderr, never stdout.
func WithLogger(l hclog.Logger) Option {
	return func(c *serveConfig) { c.logger = l }
}

// Serve serves agent to the Hive node that started this process, and
// returns when the node stops it. Call it from main, and write nothing to
// stdout before: stdout carries the handshake.
//
// Run by hand rather than by a node, Serve prints that the binary is a
// Hive agent plugin and exits with status 1. It exits with status 1 too
// when agent's description is invalid.
func Serve(agent Agent, opts ...Option) {
	var cfg serveConfig
	for _, o := range opts {
		o(&cfg)
	}
	desc := agent.Describe()
	if desc.Name == "" {
		desc.Name = filepath.Base(os.Args[0])
	}
	if cfg.logger == nil {
		cfg.logger = hclog.New(&hclog.LoggerOptions{
			Name:       desc.Name,
			Level:      hclog.LevelFromString(os.Getenv(plugins.LogLevelEnv)),
			Output:     os.Stderr,
			JSONFormat: true,
		})
	}
	if err := desc.Validate(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: invalid description: %v\n", desc.Name, err)
		os.Exit(1)
	}
	srv := newServer(agent, desc, cfg.logger, os.Getenv(plugins.ProbeEnv) == "1")
	if len(cfg.versions) == 0 {
		cfg.versions = plugins.SupportedVersions()
	}
	// One server for every version: a host that negotiated version 1
	// only calls Execute, one at version 2 runs tasks on Session.
	sets := make(map[int]plugin.PluginSet, len(cfg.versions))
	for _, v := range cfg.versions {
		sets[v] = plugin.PluginSet{plugins.PluginName: &servePlugin{srv: srv}}
	}
	handshake := plugins.Handshake()
	handshake.ProtocolVersion = uint(slices.Max(cfg.versions))
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  handshake,
		VersionedPlugins: sets,
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts,
				grpc.MaxRecvMsgSize(plugins.MaxMessageSize),
				grpc.MaxSendMsgSize(plugins.MaxMessageSize))...)
		},
		Logger: cfg.logger,
	})
}

// servePlugin is the plugin's side of the go-plugin plugin: it registers
// the agent service.
type servePlugin struct {
	plugin.NetRPCUnsupportedPlugin
	srv *server
}

var _ plugin.GRPCPlugin = (*servePlugin)(nil)

func (p *servePlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterAgentServer(s, p.srv)
	return nil
}

func (p *servePlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("a plugin does not dispense clients")
}
