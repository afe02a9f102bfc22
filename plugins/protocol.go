package plugins

import (
	"fmt"
	"regexp"

	plugin "github.com/hashicorp/go-plugin"
	pb "github.com/hive-swarm/hive/plugins/proto"
)

// ProtocolVersion is the newest version of the agent plugin protocol, the
// one plugins/proto describes. Hosts offer every version in
// SupportedVersions; the SDK serves every one of them too, and the
// handshake picks the newest both sides speak.
//
// Version 1 runs each task on its own Execute call. Version 2 adds the
// Session call: one long-lived stream per connection that multiplexes
// every task, which costs the host and the plugin far less CPU per task
// than a stream per task.
const ProtocolVersion = 2

// ProtocolVersionExecute is the oldest version hosts still speak: one
// Execute call per task.
const ProtocolVersionExecute = 1

// SupportedVersions are the protocol versions a host speaks, newest first.
func SupportedVersions() []int { return []int{ProtocolVersion, ProtocolVersionExecute} }

// SessionWindow is the number of progress and log events of one task a
// plugin may send on a Session beyond those the host has granted back;
// it bounds what the host buffers per task.
const SessionWindow = int(pb.SessionWindow_SESSION_WINDOW)

// The go-plugin handshake. The magic cookie is not a security measure: it
// only tells a binary that it was started as a Hive agent plugin, so that
// one run by hand explains itself instead of waiting for a host.
const (
	MagicCookieKey   = "HIVE_AGENT_PLUGIN"
	MagicCookieValue = "b7f3c1e2-hive-agent-plugin-2c9d4a81"
)

// Handshake is the go-plugin handshake configuration of both sides. Its
// ProtocolVersion is the default version; negotiation uses the versioned
// plugin sets.
func Handshake() plugin.HandshakeConfig {
	return plugin.HandshakeConfig{
		ProtocolVersion:  ProtocolVersion,
		MagicCookieKey:   MagicCookieKey,
		MagicCookieValue: MagicCookieValue,
	}
}

// PluginName is the name under which the agent service is dispensed in
// every go-plugin plugin set.
const PluginName = "agent"

// MaxMessageSize bounds one gRPC message either way (a task with its
// payload, or one event). Both sides set it.
const MaxMessageSize = 64 << 20

// FeatureConformanceProbes is listed in Description.Features by a plugin
// that answers the conformance kit's probe tasks (agent type
// ProbeAgentType). The SDK enables the probes only when the environment
// variable ProbeEnv is "1", which only the conformance kit sets.
const FeatureConformanceProbes = "conformance-probes"

// ProbeAgentType is the reserved agent type of conformance probes; a
// Manager never sends tasks of a reserved type ("hive." prefix).
const ProbeAgentType = "hive.probe"

// ProbeEnv is the environment variable that enables conformance probes in
// an SDK plugin.
const ProbeEnv = "HIVE_PLUGIN_PROBES"

var typeNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// ValidTypeName reports an error unless name is a valid agent type name:
// lower case letters, digits, '-' and '_', starting with a letter, at most
// 63 characters.
func ValidTypeName(name string) error {
	if !typeNameRE.MatchString(name) {
		return fmt.Errorf("agent type %q: want lower case letters, digits, '-' and '_', starting with a letter, at most 63 characters", name)
	}
	return nil
}

// LogLevelEnv is the environment variable in which the host tells a plugin
// the level of the logger its stderr goes to ("trace", "debug", "info",
// "warn", "error"), so that the plugin need not write lines that would be
// dropped. The SDK logs at that level.
const LogLevelEnv = "HIVE_PLUGIN_LOG_LEVEL"
