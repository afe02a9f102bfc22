package gossip

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testConfig is a tightened LAN configuration on 127.0.0.1:0.
func testConfig(t *testing.T, name string, events chan<- Event) Config {
	return Config{
		Name:             name,
		BindAddr:         "127.0.0.1",
		Meta:             Meta{Name: name, RaftAddr: "127.0.0.1:1", Role: RoleServer, BootstrapExpect: 3},
		Logger:           testLogger(t, name),
		Events:           events,
		ProbeInterval:    100 * time.Millisecond,
		ProbeTimeout:     50 * time.Millisecond,
		GossipInterval:   20 * time.Millisecond,
		PushPullInterval: time.Second,
		SuspicionMult:    2,
		TCPTimeout:       time.Second,
	}
}

// testLogger logs through t.Log, so only failing tests print.
func testLogger(t *testing.T, name string) hclog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() { w.mu.Lock(); w.done = true; w.mu.Unlock() })
	return hclog.New(&hclog.LoggerOptions{Name: name, Output: w, Level: hclog.Info})
}

type testWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func statusOf(g *Gossip, name string) Status {
	for _, m := range g.Members() {
		if m.Name == name {
			return m.Status
		}
	}
	return 0
}

func TestGossipCluster(t *testing.T) {
	events := make(chan Event, 64)
	var gs []*Gossip
	for i := range 3 {
		var ch chan<- Event
		if i == 0 {
			ch = events
		}
		g, err := New(testConfig(t, fmt.Sprintf("n%d", i), ch))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = g.Shutdown() })
		gs = append(gs, g)
	}
	for _, g := range gs[1:] {
		if n, err := g.Join([]string{gs[0].Addr()}); err != nil || n != 1 {
			t.Fatalf("join: %d, %v", n, err)
		}
	}
	for _, g := range gs {
		waitFor(t, "3 alive members", func() bool { return g.NumAlive() == 3 })
	}
	m, ok := gs[0].Member("n2")
	if !ok || m.Meta.RaftAddr != "127.0.0.1:1" || m.Meta.BootstrapExpect != 3 || m.Status != StatusAlive {
		t.Fatalf("member n2 = %+v", m)
	}

	t.Run("update meta", func(t *testing.T) {
		meta := gs[1].LocalMeta()
		meta.Flags |= FlagRaftState
		meta.Load = 42
		if err := gs[1].UpdateMeta(meta); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "meta update", func() bool {
			m, _ := gs[0].Member("n1")
			return m.Meta.Has(FlagRaftState) && m.Meta.Load == 42
		})
		big := meta
		big.HTTPAddr = string(make([]byte, MetaMaxSize))
		if err := gs[1].UpdateMeta(big); !errors.Is(err, ErrMetaTooLarge) {
			t.Fatalf("oversized meta: %v", err)
		}
	})

	t.Run("leave", func(t *testing.T) {
		if err := gs[1].Leave(time.Second); err != nil {
			t.Fatal(err)
		}
		_ = gs[1].Shutdown()
		waitFor(t, "n1 left", func() bool { return statusOf(gs[0], "n1") == StatusLeft })
	})

	t.Run("failure", func(t *testing.T) {
		_ = gs[2].Shutdown()
		waitFor(t, "n2 failed", func() bool { return statusOf(gs[0], "n2") == StatusFailed })
	})

	seen := map[string]bool{}
	waitFor(t, "events", func() bool {
		for {
			select {
			case ev := <-events:
				seen[ev.Type.String()+":"+ev.Member.Name] = true
				continue
			default:
			}
			return seen["join:n0"] && seen["join:n1"] && seen["join:n2"] && seen["update:n1"] && seen["leave:n1"] && seen["failed:n2"]
		}
	})
	if d := gs[0].Dropped(); d != 0 {
		t.Fatalf("dropped %d events", d)
	}
}

// TestEventsNeverBlock checks that a consumer that never reads costs
// dropped events, not a stuck memberlist.
func TestEventsNeverBlock(t *testing.T) {
	q := newEventQueue(2)
	for range 5 {
		q.push(Event{Type: EventJoin})
	}
	if q.dropped.Load() != 3 {
		t.Fatalf("dropped = %d, want 3", q.dropped.Load())
	}
	out := make(chan Event) // nobody reads
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { q.forward(out, stop); close(done) }()
	q.push(Event{Type: EventLeave})
	close(stop)
	<-done
}

func TestNewErrors(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("no name: want error")
	}
	cfg := testConfig(t, "x", nil)
	cfg.Meta.HTTPAddr = string(make([]byte, 600))
	if _, err := New(cfg); !errors.Is(err, ErrMetaTooLarge) {
		t.Fatalf("oversized meta: %v", err)
	}
}
