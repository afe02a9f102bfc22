// Package proto is the Go code generated from agent.proto, the gRPC service
// between a Hive node and its agent plugins. Use the types of package plugins
// (the host) and plugins/sdk (plugin authors) rather than these directly;
// regenerate with scripts/genproto.sh.
package proto
