package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/hive-swarm/hive/node"
)

// testTimeouts tightens raft's timings for loopback, as Hive's tests do.
func testTimeouts() node.RaftTimeouts {
	return node.RaftTimeouts{
		Heartbeat:     200 * time.Millisecond,
		Election:      200 * time.Millisecond,
		LeaderLease:   100 * time.Millisecond,
		CommitTimeout: 5 * time.Millisecond,
	}
}

type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(string(p))
	return len(p), nil
}

// testLogger sends raft's warnings to the test log (its errors only in
// benchmarks, where the start-up election warnings are noise).
func testLogger(tb testing.TB) hclog.Logger {
	level := hclog.Warn
	if _, ok := tb.(*testing.B); ok {
		level = hclog.Error
	}
	return hclog.New(&hclog.LoggerOptions{Name: "bench", Level: level, Output: testWriter{tb}})
}

func startTestCluster(tb testing.TB, nodes int) *RaftCluster {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := StartRaftCluster(ctx, RaftClusterConfig{Nodes: nodes, Dir: tb.TempDir(), Timeouts: testTimeouts(), Logger: testLogger(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := c.Shutdown(); err != nil {
			tb.Error(err)
		}
	})
	return c
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
		}
		<-tick.C
	}
}

func TestRaftClusterBaseline(t *testing.T) {
	c := startTestCluster(t, 3)
	if c.Len() != 3 {
		t.Fatalf("cluster has %d nodes, want 3", c.Len())
	}
	res, err := Run(context.Background(), Options{Clients: 8, Requests: 200}, c.Op(Payload(DefaultEntrySize)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Ops != 200 || res.Errors != 0 {
		t.Fatalf("ops/errors = %d/%d (%v), want 200/0", res.Ops, res.Errors, res.ErrorKinds)
	}
	if res.OpsPerSec() <= 0 || res.Latency.Count() != 200 || res.Latency.Percentile(0.99) <= 0 {
		t.Fatalf("implausible figures: %.0f ops/s, %+v", res.OpsPerSec(), res.Latency.Summary())
	}
	// Every committed entry reaches every node's FSM, and nothing else does.
	waitFor(t, 10*time.Second, func() error {
		if got := c.Applied(); !slices.Equal(got, []uint64{200, 200, 200}) {
			return fmt.Errorf("applied per node = %v, want 200 each", got)
		}
		return nil
	})
}

func TestRaftClusterConfig(t *testing.T) {
	if _, err := StartRaftCluster(context.Background(), RaftClusterConfig{}); err == nil {
		t.Fatal("a cluster without a directory started")
	}
	bad := testTimeouts()
	bad.LeaderLease = 2 * bad.Heartbeat // raft refuses a lease longer than the heartbeat timeout
	_, err := StartRaftCluster(context.Background(), RaftClusterConfig{Dir: t.TempDir(), Timeouts: bad})
	if err == nil {
		t.Fatal("a cluster with an invalid raft config started")
	}
	// A leader that never comes is reported when ctx ends, and nothing is left running.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := StartRaftCluster(ctx, RaftClusterConfig{Nodes: 1, Dir: t.TempDir(), Timeouts: testTimeouts()}); err == nil {
		t.Fatal("StartRaftCluster with a cancelled context succeeded")
	}
}

// TestRaftConfigIsTheNodes checks that the baseline's raft.Config is the
// one a Hive node builds, field for field except the node's identity.
func TestRaftConfigIsTheNodes(t *testing.T) {
	for _, timeouts := range []node.RaftTimeouts{{}, testTimeouts()} {
		cfg := node.DefaultConfig()
		cfg.Name, cfg.RaftTimeouts = "raft0", timeouts
		want := node.NewRaftConfig(cfg)
		got := RaftConfig(timeouts, "raft0", nil)
		want.Logger, got.Logger = nil, nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("baseline raft config\n%+v\ndiffers from the node's\n%+v", got, want)
		}
	}
}

func TestCountingFSMSnapshotRestore(t *testing.T) {
	f := &countingFSM{}
	for range 5 {
		f.Apply(&raft.Log{})
	}
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	g := &countingFSM{}
	if err := g.Restore(io.NopCloser(&sink.buf)); err != nil {
		t.Fatal(err)
	}
	if g.count.Load() != 5 {
		t.Fatalf("restored count = %d, want 5", g.count.Load())
	}
}

// BenchmarkBareRaftApply measures a 3-node bare raft cluster with one
// proposal per entry, at several numbers of concurrent proposers. It
// reports ops/s and latency percentiles beside ns/op.
func BenchmarkBareRaftApply(b *testing.B) {
	for _, clients := range []int{1, 64, 256} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			c := startTestCluster(b, 3)
			payload := Payload(DefaultEntrySize)
			b.ResetTimer()
			res, err := Run(context.Background(), Options{Clients: clients, Requests: b.N}, c.Op(payload))
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if res.Errors > 0 {
				b.Fatalf("%d errors: %v", res.Errors, res.ErrorKinds)
			}
			l := res.Latency.Summary()
			b.ReportMetric(res.OpsPerSec(), "ops/s")
			b.ReportMetric(float64(l.P50.Microseconds()), "p50-µs")
			b.ReportMetric(float64(l.P99.Microseconds()), "p99-µs")
		})
	}
}

type memSink struct {
	buf bytes.Buffer
}

func (s *memSink) Write(p []byte) (int, error) { return s.buf.Write(p) }
func (s *memSink) Close() error                { return nil }
func (s *memSink) ID() string                  { return "mem" }
func (s *memSink) Cancel() error               { return nil }
