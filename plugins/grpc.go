package plugins

import (
	"context"
	"errors"

	plugin "github.com/hashicorp/go-plugin"
	pb "github.com/hive-swarm/hive/plugins/proto"
	"google.golang.org/grpc"
)

// hostPlugin is the host's side of the go-plugin plugin: it dispenses the
// gRPC client of the agent service. The plugin's side lives in the SDK.
type hostPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

var _ plugin.GRPCPlugin = hostPlugin{}

func (hostPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("the host does not serve agents")
}

func (hostPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return pb.NewAgentClient(cc), nil
}

// hostPluginSets maps every version the host offers to its plugin set.
func hostPluginSets(versions []int) map[int]plugin.PluginSet {
	sets := make(map[int]plugin.PluginSet, len(versions))
	for _, v := range versions {
		sets[v] = plugin.PluginSet{PluginName: hostPlugin{}}
	}
	return sets
}
