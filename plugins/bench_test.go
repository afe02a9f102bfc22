package plugins

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// The overhead of a plugin call: one Execute of a task that the plugin
// answers at once (the test agent's no-op mode), from the host's call to
// its verified result, over the real process boundary. Besides ns/op the
// benchmarks report the 50th and 99th percentile of single calls.
//
//	go test -run '^$' -bench Execute -benchtime 20000x ./plugins

func BenchmarkExecuteNoop(b *testing.B) {
	for _, bc := range []struct {
		name string
		mtls bool
	}{{"mtls", true}, {"plain", false}} {
		b.Run(bc.name, func(b *testing.B) {
			c := launch(b, LaunchConfig{AgentType: "test", Logger: hclog.NewNullLogger(), DisableMTLS: !bc.mtls})
			benchmarkCalls(b, func(ctx context.Context, task *Task) error {
				_, err := c.Execute(ctx, task, nil)
				return err
			})
		})
	}
}

// BenchmarkManagerExecuteNoop adds the Manager's share: the slot, the
// supervisor and the task's config.
func BenchmarkManagerExecuteNoop(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Agents["test"] = AgentConfig{Path: testAgent(b), Config: []byte(`{}`)}
	m, err := NewManager(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	if err := m.Start(testCtx(b)); err != nil {
		b.Fatal(err)
	}
	benchmarkCalls(b, func(ctx context.Context, task *Task) error {
		_, err := m.Execute(ctx, task, nil)
		return err
	})
}

// BenchmarkManagerExecuteNoopParallel measures the throughput of
// concurrent calls sharing one process.
func BenchmarkManagerExecuteNoopParallel(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Agents["test"] = AgentConfig{Path: testAgent(b), Capacity: 64}
	m, err := NewManager(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	if err := m.Start(testCtx(b)); err != nil {
		b.Fatal(err)
	}
	ctx := testCtx(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		task := &Task{WorkOrderID: "WO-1", AgentType: "test"}
		for pb.Next() {
			if _, err := m.Execute(ctx, task, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// benchmarkCalls times call b.N times, one at a time, and reports the
// latency percentiles.
func benchmarkCalls(b *testing.B, call func(context.Context, *Task) error) {
	ctx := testCtx(b)
	task := &Task{WorkOrderID: "WO-1", AgentType: "test"}
	for range 100 { // warm up the connection
		if err := call(ctx, task); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, 0, 1<<16)
	for b.Loop() {
		start := time.Now()
		if err := call(ctx, task); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(pct(0.999), "p99.9-µs")
}
