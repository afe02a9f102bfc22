// Command futureplugin is a plugin built against a protocol version no
// host speaks yet (99): the tests check that a host refuses it with an
// error naming both versions.
package main

import (
	"context"
	"errors"

	plugin "github.com/hashicorp/go-plugin"
	"github.com/hive-swarm/hive/plugins"
	pb "github.com/hive-swarm/hive/plugins/proto"
	"google.golang.org/grpc"
)

type agentPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

type server struct {
	pb.UnimplementedAgentServer
}

func (agentPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterAgentServer(s, server{})
	return nil
}

func (agentPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("not a host")
}

func main() {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  plugin.HandshakeConfig{MagicCookieKey: plugins.MagicCookieKey, MagicCookieValue: plugins.MagicCookieValue},
		VersionedPlugins: map[int]plugin.PluginSet{99: {plugins.PluginName: agentPlugin{}}},
		GRPCServer:       plugin.DefaultGRPCServer,
	})
}
