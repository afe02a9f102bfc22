package gossip

import (
	"sync"
	"testing"
)

// newTestGossip starts a member with testConfig, shut down when the test
// ends.
func newTestGossip(t *testing.T, name string) *Gossip {
	t.Helper()
	g, err := New(testConfig(t, name, nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Shutdown() })
	return g
}

// TestUpdateMetaFuncSpreadsAndSerialises checks that concurrent
// read-modify-write updates of the local metadata (a flag from one
// caller, the agent slots from another) are all kept, and that the
// result reaches the other member.
func TestUpdateMetaFuncSpreadsAndSerialises(t *testing.T) {
	a := newTestGossip(t, "a")
	b := newTestGossip(t, "b")
	if _, err := b.Join([]string{a.Addr()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to see a", func() bool { return statusOf(b, "a") == StatusAlive })

	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if i%2 == 0 {
				err = a.UpdateMetaFunc(func(m *Meta) { m.Flags |= Flags(1) << (8 + i) })
			} else {
				err = a.UpdateMetaFunc(func(m *Meta) {
					m.Agents = []AgentSlot{{Type: "test", Capacity: 4, Running: uint32(i)}}
					m.Load = uint32(i)
				})
			}
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	want := Flags(1<<8 | 1<<10 | 1<<12 | 1<<14)
	local := a.LocalMeta()
	if !local.Has(want) || len(local.Agents) != 1 || local.RaftAddr != "127.0.0.1:1" {
		t.Fatalf("local meta after concurrent updates: %+v", local)
	}
	waitFor(t, "b to see a's updated meta", func() bool {
		m, ok := b.Member("a")
		return ok && m.Meta.Has(want) && len(m.Meta.Agents) == 1 && m.Meta.Agents[0] == local.Agents[0] && m.Meta.Load == local.Load
	})
}

// TestPublishMetaFuncSpreads checks that PublishMetaFunc, which does not
// wait for its broadcast, installs the update locally at once and that
// the update still reaches a member that joins later.
func TestPublishMetaFuncSpreads(t *testing.T) {
	a := newTestGossip(t, "a")
	slot := AgentSlot{Type: "test", Capacity: 8, Running: 3}
	if err := a.PublishMetaFunc(func(m *Meta) { m.Agents, m.Load = []AgentSlot{slot}, 375 }); err != nil {
		t.Fatal(err)
	}
	if local := a.LocalMeta(); len(local.Agents) != 1 || local.Agents[0] != slot || local.Load != 375 {
		t.Fatalf("local meta %+v", local)
	}
	b := newTestGossip(t, "b")
	if _, err := b.Join([]string{a.Addr()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b to see a's published meta", func() bool {
		m, ok := b.Member("a")
		return ok && len(m.Meta.Agents) == 1 && m.Meta.Agents[0] == slot && m.Meta.Load == 375
	})
}
