package gossip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/hashicorp/memberlist"
)

// MetaMaxSize is the largest encoded Meta memberlist accepts (512 bytes).
const MetaMaxSize = memberlist.MetaMaxSize

// MetaVersion is the version byte written first by EncodeMeta. A decoder
// refuses a higher major version; new fields never bump it, they get a
// new tag (see the tag list below), which older decoders skip.
const MetaVersion = 1

// Role is what a node does in the cluster.
type Role uint8

// The roles. Only servers take part in raft; the zero value is unknown.
const (
	RoleUnknown Role = 0
	RoleServer  Role = 1
)

// String implements fmt.Stringer.
func (r Role) String() string {
	switch r {
	case RoleServer:
		return "server"
	default:
		return fmt.Sprintf("role(%d)", uint8(r))
	}
}

// Flags are boolean properties of a node, OR-ed together.
type Flags uint64

// The flags. Append new ones; never reuse a bit.
const (
	// FlagRaftState is set by a node that already holds raft state (it
	// bootstrapped or was added to a cluster). A fresh node that sees it on
	// any member never bootstraps: it waits to be added by the leader.
	FlagRaftState Flags = 1 << 0
	// FlagNonVoter asks the leader never to make this node a voter.
	FlagNonVoter Flags = 1 << 1
	// FlagLeaving is set by a node that is about to leave gracefully.
	FlagLeaving Flags = 1 << 2
)

// AgentSlot is one agent type a node offers, with its capacity and the
// number of work orders it is running.
type AgentSlot struct {
	Type     string
	Capacity uint32
	Running  uint32
}

// Meta is the metadata a node gossips about itself. It must encode to at
// most MetaMaxSize bytes; EncodeMeta refuses anything larger.
type Meta struct {
	Name            string      // node name (the raft server ID)
	RaftAddr        string      // advertised raft address, host:port
	HTTPAddr        string      // advertised HTTP address, host:port
	Role            Role        // what the node does
	Flags           Flags       // see the Flag constants
	BootstrapExpect int         // the node's bootstrap-expect setting; 0 = join only
	Agents          []AgentSlot // agent types offered, for placement
	Load            uint32      // share of the node's agent capacity in use, in thousandths (1000 = every slot busy)
}

// Has reports whether every flag in f is set.
func (m *Meta) Has(f Flags) bool { return m.Flags&f == f }

// Field tags of the encoding. Each field is written as
// [tag uvarint][length uvarint][value]; a decoder skips tags it does not
// know, so fields can be added without breaking older nodes. Tags are
// append-only.
const (
	tagName            = 1 // string
	tagRaftAddr        = 2 // string
	tagHTTPAddr        = 3 // string
	tagRole            = 4 // uvarint
	tagFlags           = 5 // uvarint
	tagBootstrapExpect = 6 // uvarint
	tagAgent           = 7 // repeated: [len uvarint][type][capacity uvarint][running uvarint]
	tagLoad            = 8 // uvarint
)

// ErrMetaTooLarge is returned by EncodeMeta when the encoding exceeds
// MetaMaxSize.
var ErrMetaTooLarge = errors.New("gossip: meta exceeds 512 bytes")

// EncodeMeta encodes m in the compact versioned format: one version byte,
// then tagged fields. Zero-valued fields are omitted.
func EncodeMeta(m *Meta) ([]byte, error) {
	if m.BootstrapExpect < 0 {
		return nil, fmt.Errorf("gossip: negative bootstrap-expect %d", m.BootstrapExpect)
	}
	b := make([]byte, 0, 64)
	b = append(b, MetaVersion)
	b = appendString(b, tagName, m.Name)
	b = appendString(b, tagRaftAddr, m.RaftAddr)
	b = appendString(b, tagHTTPAddr, m.HTTPAddr)
	b = appendUvarint(b, tagRole, uint64(m.Role))
	b = appendUvarint(b, tagFlags, uint64(m.Flags))
	b = appendUvarint(b, tagBootstrapExpect, uint64(m.BootstrapExpect))
	for _, a := range m.Agents {
		var v []byte
		v = binary.AppendUvarint(v, uint64(len(a.Type)))
		v = append(v, a.Type...)
		v = binary.AppendUvarint(v, uint64(a.Capacity))
		v = binary.AppendUvarint(v, uint64(a.Running))
		b = appendField(b, tagAgent, v)
	}
	b = appendUvarint(b, tagLoad, uint64(m.Load))
	if len(b) > MetaMaxSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrMetaTooLarge, len(b))
	}
	return b, nil
}

// DecodeMeta decodes what EncodeMeta wrote. Unknown tags are skipped; a
// truncated or malformed field is an error.
func DecodeMeta(b []byte) (*Meta, error) {
	if len(b) == 0 {
		return nil, errors.New("gossip: empty meta")
	}
	if b[0] != MetaVersion {
		return nil, fmt.Errorf("gossip: unsupported meta version %d", b[0])
	}
	m := &Meta{}
	r := b[1:]
	for len(r) > 0 {
		tag, n := binary.Uvarint(r)
		if n <= 0 {
			return nil, errors.New("gossip: bad meta tag")
		}
		r = r[n:]
		l, n := binary.Uvarint(r)
		if n <= 0 || l > uint64(len(r)-n) {
			return nil, fmt.Errorf("gossip: bad meta length for tag %d", tag)
		}
		v := r[n : n+int(l)]
		r = r[n+int(l):]
		var err error
		switch tag {
		case tagName:
			m.Name = string(v)
		case tagRaftAddr:
			m.RaftAddr = string(v)
		case tagHTTPAddr:
			m.HTTPAddr = string(v)
		case tagRole:
			var x uint64
			x, err = uvarintValue(v, math.MaxUint8)
			m.Role = Role(x)
		case tagFlags:
			var x uint64
			x, err = uvarintValue(v, math.MaxUint64)
			m.Flags = Flags(x)
		case tagBootstrapExpect:
			var x uint64
			x, err = uvarintValue(v, math.MaxInt32)
			m.BootstrapExpect = int(x)
		case tagAgent:
			var a AgentSlot
			a, err = decodeAgent(v)
			m.Agents = append(m.Agents, a)
		case tagLoad:
			var x uint64
			x, err = uvarintValue(v, math.MaxUint32)
			m.Load = uint32(x)
		}
		if err != nil {
			return nil, fmt.Errorf("gossip: meta tag %d: %w", tag, err)
		}
	}
	return m, nil
}

func decodeAgent(v []byte) (AgentSlot, error) {
	var a AgentSlot
	l, n := binary.Uvarint(v)
	if n <= 0 || l > uint64(len(v)-n) {
		return a, errors.New("bad agent type length")
	}
	a.Type = string(v[n : n+int(l)])
	v = v[n+int(l):]
	c, n := binary.Uvarint(v)
	if n <= 0 || c > math.MaxUint32 {
		return a, errors.New("bad agent capacity")
	}
	v = v[n:]
	run, n := binary.Uvarint(v)
	if n <= 0 || run > math.MaxUint32 {
		return a, errors.New("bad agent running count")
	}
	a.Capacity, a.Running = uint32(c), uint32(run)
	return a, nil
}

func uvarintValue(v []byte, limit uint64) (uint64, error) {
	x, n := binary.Uvarint(v)
	if n <= 0 || n != len(v) {
		return 0, errors.New("bad uvarint")
	}
	if x > limit {
		return 0, fmt.Errorf("value %d out of range", x)
	}
	return x, nil
}

func appendField(b []byte, tag uint64, v []byte) []byte {
	b = binary.AppendUvarint(b, tag)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func appendString(b []byte, tag uint64, s string) []byte {
	if s == "" {
		return b
	}
	return appendField(b, tag, []byte(s))
}

func appendUvarint(b []byte, tag, x uint64) []byte {
	if x == 0 {
		return b
	}
	return appendField(b, tag, binary.AppendUvarint(nil, x))
}
