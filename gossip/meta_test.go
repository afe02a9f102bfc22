package gossip

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func fullMeta() *Meta {
	return &Meta{
		Name:            "node-1",
		RaftAddr:        "10.0.0.1:7071",
		HTTPAddr:        "10.0.0.1:7070",
		Role:            RoleServer,
		Flags:           FlagRaftState | FlagNonVoter,
		BootstrapExpect: 3,
		Agents:          []AgentSlot{{Type: "shell", Capacity: 4, Running: 1}, {Type: "test", Capacity: 100}},
		Load:            1500,
	}
}

func TestMetaRoundTrip(t *testing.T) {
	cases := map[string]*Meta{
		"empty":   {},
		"minimal": {Name: "a", Role: RoleServer},
		"full":    fullMeta(),
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := EncodeMeta(m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeMeta(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
			}
		})
	}
}

func TestMetaCompact(t *testing.T) {
	b, err := EncodeMeta(&Meta{Name: "node-1", RaftAddr: "10.0.0.1:7071", HTTPAddr: "10.0.0.1:7070", Role: RoleServer, BootstrapExpect: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 64 {
		t.Fatalf("typical meta is %d bytes, want <= 64", len(b))
	}
}

// TestMetaAtLimit fills the metadata with agent slots up to exactly 512
// bytes, then one byte more.
func TestMetaAtLimit(t *testing.T) {
	m := fullMeta()
	m.Agents = nil
	base, err := EncodeMeta(m)
	if err != nil {
		t.Fatal(err)
	}
	// One agent field: tag(1) + len(1..2) + typeLen(1) + type + cap(1) + run(1).
	for len(base) < MetaMaxSize {
		room := MetaMaxSize - len(base)
		typeLen := min(room-5, 100)
		if typeLen < 0 {
			break
		}
		m.Agents = append(m.Agents, AgentSlot{Type: strings.Repeat("x", typeLen), Capacity: 1, Running: 1})
		base, err = EncodeMeta(m)
		if err != nil {
			t.Fatalf("%d agents: %v", len(m.Agents), err)
		}
	}
	if len(base) != MetaMaxSize {
		t.Fatalf("filled to %d bytes, want exactly %d", len(base), MetaMaxSize)
	}
	got, err := DecodeMeta(base)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatal("round trip at the limit differs")
	}
	m.Agents[len(m.Agents)-1].Type += "y"
	if _, err := EncodeMeta(m); !errors.Is(err, ErrMetaTooLarge) {
		t.Fatalf("513 bytes: err = %v, want ErrMetaTooLarge", err)
	}
}

func TestMetaSkipsUnknownTags(t *testing.T) {
	m := fullMeta()
	b, err := EncodeMeta(m)
	if err != nil {
		t.Fatal(err)
	}
	// A newer node appends a field with tag 200.
	b = binary.AppendUvarint(b, 200)
	b = binary.AppendUvarint(b, 3)
	b = append(b, 1, 2, 3)
	got, err := DecodeMeta(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("got %+v", got)
	}
}

func TestMetaDecodeErrors(t *testing.T) {
	good, _ := EncodeMeta(fullMeta())
	cases := map[string][]byte{
		"empty":       nil,
		"version":     {2},
		"truncated":   good[:len(good)-1],
		"bad length":  {1, tagName, 50, 'a'},
		"role range":  {1, tagRole, 2, 0x80, 0x02},
		"uvarint len": {1, tagFlags, 2, 1, 1},
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeMeta(b); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func FuzzDecodeMeta(f *testing.F) {
	for _, m := range []*Meta{{}, fullMeta(), {Name: "n", Load: 1}} {
		b, _ := EncodeMeta(m)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMeta(b)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to something that decodes the same.
		b2, err := EncodeMeta(m)
		if err != nil {
			if errors.Is(err, ErrMetaTooLarge) {
				return
			}
			t.Fatal(err)
		}
		m2, err := DecodeMeta(b2)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("re-decode differs: %+v vs %+v", m, m2)
		}
		b3, _ := EncodeMeta(m2)
		if !bytes.Equal(b2, b3) {
			t.Fatal("encoding not stable")
		}
	})
}
