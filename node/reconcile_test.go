package node

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/hive-swarm/hive/gossip"
)

func TestTargetVoters(t *testing.T) {
	for _, c := range []struct{ healthy, max, want int }{
		{0, 5, 1}, {1, 5, 1}, {2, 5, 1}, {3, 5, 3}, {4, 5, 3}, {5, 5, 5}, {6, 5, 5}, {9, 5, 5}, {7, 7, 7}, {3, 1, 1},
	} {
		if got := targetVoters(c.healthy, c.max); got != c.want {
			t.Errorf("targetVoters(%d, %d) = %d, want %d", c.healthy, c.max, got, c.want)
		}
	}
}

func TestPlanReconcile(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	const grace = time.Minute
	voter := func(id string) raft.Server {
		return raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(id), Address: raft.ServerAddress(id + ":1")}
	}
	nonvoter := func(id string) raft.Server {
		s := voter(id)
		s.Suffrage = raft.Nonvoter
		return s
	}
	alive := func(ids ...string) map[string]memberInfo {
		m := make(map[string]memberInfo)
		for _, id := range ids {
			m[id] = memberInfo{RaftAddr: id + ":1", Status: gossip.StatusAlive}
		}
		return m
	}
	with := func(m map[string]memberInfo, id string, st gossip.Status, ago time.Duration) map[string]memberInfo {
		m[id] = memberInfo{RaftAddr: id + ":1", Status: st, Since: now.Add(-ago)}
		return m
	}
	cases := []struct {
		name    string
		servers []raft.Server
		members map[string]memberInfo
		missing map[string]time.Time
		want    []string // "kind id"
	}{
		{"steady three", []raft.Server{voter("a"), voter("b"), voter("c")}, alive("a", "b", "c"), nil, nil},
		{"second server waits as non-voter", []raft.Server{voter("a")}, alive("a", "b"), nil,
			[]string{"add-nonvoter b"}},
		{"third server: promote and add", []raft.Server{voter("a"), nonvoter("b")}, alive("a", "b", "c"), nil,
			[]string{"promote b", "add-voter c"}},
		{"fourth server is a non-voter", []raft.Server{voter("a"), voter("b"), voter("c")}, alive("a", "b", "c", "d"), nil,
			[]string{"add-nonvoter d"}},
		{"fifth server makes five voters", []raft.Server{voter("a"), voter("b"), voter("c"), nonvoter("d")}, alive("a", "b", "c", "d", "e"), nil,
			[]string{"promote d", "add-voter e"}},
		{"sixth server is a non-voter", []raft.Server{voter("a"), voter("b"), voter("c"), voter("d"), voter("e")}, alive("a", "b", "c", "d", "e", "f"), nil,
			[]string{"add-nonvoter f"}},
		{"a voter that left goes at once and a non-voter steps up",
			[]raft.Server{voter("a"), voter("b"), voter("c"), voter("d"), voter("e"), nonvoter("f")},
			with(alive("a", "b", "c", "d", "f"), "e", gossip.StatusLeft, 0), nil,
			[]string{"remove e", "promote f"}},
		{"a failed voter stays during the grace period",
			[]raft.Server{voter("a"), voter("b"), voter("c")}, with(alive("a", "b"), "c", gossip.StatusFailed, grace-time.Second), nil, nil},
		{"a failed voter goes after the grace period",
			[]raft.Server{voter("a"), voter("b"), voter("c")}, with(alive("a", "b"), "c", gossip.StatusFailed, grace), nil,
			[]string{"remove c"}},
		{"a failed voter is replaced by a healthy non-voter first",
			[]raft.Server{voter("a"), voter("b"), voter("c"), nonvoter("d")}, with(alive("a", "b", "d"), "c", gossip.StatusFailed, time.Second), nil,
			[]string{"promote d"}},
		{"failed voters that are no minority stay",
			[]raft.Server{voter("a"), voter("b"), voter("c"), voter("d"), voter("e")},
			with(with(with(alive("a", "b"), "c", gossip.StatusFailed, grace), "d", gossip.StatusFailed, grace), "e", gossip.StatusFailed, grace), nil, nil},
		{"a failed non-voter goes after the grace period",
			[]raft.Server{voter("a"), nonvoter("b")}, with(alive("a"), "b", gossip.StatusFailed, 2*grace), nil,
			[]string{"remove b"}},
		{"a server gossip forgot goes after the grace period",
			[]raft.Server{voter("a"), voter("b"), voter("c")}, alive("a", "b"), map[string]time.Time{"c": now.Add(-grace)},
			[]string{"remove c"}},
		{"a server gossip forgot recently stays",
			[]raft.Server{voter("a"), voter("b"), voter("c")}, alive("a", "b"), map[string]time.Time{"c": now},
			nil},
		{"never remove self", []raft.Server{voter("a"), voter("b"), voter("c")},
			with(alive("b", "c"), "a", gossip.StatusLeft, grace), nil, nil},
		{"a moved server is re-added at its new address",
			[]raft.Server{voter("a"), voter("b"), voter("c")},
			func() map[string]memberInfo {
				m := alive("a", "b", "c")
				m["b"] = memberInfo{RaftAddr: "b:2", Status: gossip.StatusAlive}
				return m
			}(), nil, []string{"update-address b b:2"}},
		{"the leader restarted at a new address fixes its own entry before adding the server now at its old one",
			[]raft.Server{{Suffrage: raft.Voter, ID: "a", Address: "a:0"}},
			func() map[string]memberInfo {
				m := alive("a", "c")
				m["b"] = memberInfo{RaftAddr: "a:0", Status: gossip.StatusAlive}
				return m
			}(), nil, []string{"update-address a a:1", "add-voter b", "add-voter c"}},
		{"a non-voter by choice is never promoted",
			[]raft.Server{voter("a")},
			func() map[string]memberInfo {
				m := alive("a", "c")
				m["b"] = memberInfo{RaftAddr: "b:1", Status: gossip.StatusAlive, NonVoter: true}
				return m
			}(), nil, []string{"add-nonvoter b", "add-nonvoter c"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := planReconcile(planInput{
				self: "a", selfAddr: "a:1", servers: c.servers, members: c.members, missingSince: c.missing,
				now: now, grace: grace, maxVoters: 5,
			})
			var gs []string
			for _, ch := range got {
				s := fmt.Sprintf("%s %s", ch.kind, ch.id)
				if ch.kind == changeUpdateAddr {
					s += " " + ch.addr
				}
				gs = append(gs, s)
			}
			if !reflect.DeepEqual(gs, c.want) {
				t.Fatalf("plan:\n got [%s]\nwant [%s]", strings.Join(gs, ", "), strings.Join(c.want, ", "))
			}
		})
	}
}

func TestBootstrapServers(t *testing.T) {
	m := func(name string, expect int, flags gossip.Flags, st gossip.Status) gossip.Member {
		return gossip.Member{Name: name, Status: st, Meta: &gossip.Meta{
			Name: name, RaftAddr: name + ":1", Role: gossip.RoleServer, BootstrapExpect: expect, Flags: flags,
		}}
	}
	alive := gossip.StatusAlive
	logger := nullLogger()
	cases := []struct {
		name    string
		members []gossip.Member
		want    []string
	}{
		{"too few", []gossip.Member{m("a", 3, 0, alive), m("b", 3, 0, alive)}, nil},
		{"enough, sorted", []gossip.Member{m("c", 3, 0, alive), m("a", 3, 0, alive), m("b", 3, 0, alive)}, []string{"a", "b", "c"}},
		{"more than expected: all of them", []gossip.Member{m("a", 3, 0, alive), m("b", 3, 0, alive), m("c", 3, 0, alive), m("d", 3, 0, alive)}, []string{"a", "b", "c", "d"}},
		{"dead ones do not count", []gossip.Member{m("a", 3, 0, alive), m("b", 3, 0, alive), m("c", 3, 0, gossip.StatusFailed)}, nil},
		{"join-only nodes do not count", []gossip.Member{m("a", 3, 0, alive), m("b", 3, 0, alive), m("c", 0, 0, alive)}, nil},
		{"mismatched expect refuses", []gossip.Member{m("a", 3, 0, alive), m("b", 3, 0, alive), m("c", 5, 0, alive)}, nil},
		{"an existing cluster member refuses", []gossip.Member{m("a", 3, 0, alive), m("b", 3, 0, alive), m("c", 3, 0, alive), m("d", 3, gossip.FlagRaftState, alive)}, nil},
		{"alone", []gossip.Member{m("a", 1, 0, alive)}, []string{"a"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			servers, ok := bootstrapServers(c.members, 3, logger)
			if c.name == "alone" {
				servers, ok = bootstrapServers(c.members, 1, logger)
			}
			var got []string
			for _, s := range servers {
				got = append(got, string(s.ID))
				if s.Suffrage != raft.Voter || string(s.Address) != string(s.ID)+":1" {
					t.Errorf("server %+v", s)
				}
			}
			if ok != (c.want != nil) || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %v (%v), want %v", got, ok, c.want)
			}
		})
	}
}

func nullLogger() hclog.Logger { return hclog.NewNullLogger() }
