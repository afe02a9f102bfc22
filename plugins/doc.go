// Package plugins runs Hive's agents: plugin processes that a node launches
// through hashicorp/go-plugin and talks to over gRPC.
//
// The package holds the three parts both sides of the protocol share, and
// the host side:
//
//   - the protocol: the handshake (magic cookie and protocol version, see
//     Handshake and SupportedVersions), the gRPC service in plugins/proto,
//     and its Go form (Task, Event, Result, Description);
//   - the evidence layout: LogDigest and EvidenceDigest fix the bytes a
//     result's digests cover, so a receipt can name them;
//   - Client, one running plugin process; and Manager, which keeps one
//     long-lived Client per configured agent type, shares it between
//     concurrent tasks up to a capacity, notices a crash at once, fails the
//     tasks the process held with ErrPluginCrashed, and restarts it with
//     exponential backoff.
//
// Plugin authors do not use this package directly: they write against
// plugins/sdk, and check their binary with plugins/conformance (or
// "hive plugin test PATH").
//
// # Versions
//
// The go-plugin handshake negotiates the protocol version: the host offers
// SupportedVersions, the plugin answers with the highest version both
// speak, and a plugin that speaks none of them is refused with a
// *VersionError naming both sides' versions. Within one version the proto
// only grows additively; features a plugin implements beyond the base are
// listed in Description.Features.
//
// # Process model
//
// Each configured agent type gets its own plugin process, so a crash of one
// type never fails the tasks of another. Plugins log to stderr (JSON hclog
// lines, as the SDK does); the host re-logs every line through its own
// hclog logger, named after the agent type. Stdout belongs to the
// handshake.
package plugins
