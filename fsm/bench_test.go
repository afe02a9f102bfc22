package fsm

import (
	"bytes"
	"fmt"
	"io"
	"math/rand"
	"testing"

	"github.com/hashicorp/raft"
)

func encodeAll(b *testing.B, cmds []Command) []*raft.Log {
	logs := make([]*raft.Log, len(cmds))
	for i, c := range cmds {
		data, err := Encode(c)
		if err != nil {
			b.Fatal(err)
		}
		logs[i] = &raft.Log{Index: uint64(i + 1), Type: raft.LogCommand, Data: data}
	}
	return logs
}

func createCmd(i int) *CreateWorkOrder {
	return &CreateWorkOrder{
		Header: Header{RequestID: fmt.Sprintf("req-%d", i), Time: t0 + int64(i)*1000, Node: "node-1"},
		Spec:   WorkOrderSpec{Title: "build the thing", Kind: "shell", Labels: []string{"bug"}, Effort: int64(i % 100)},
	}
}

func reportRate(b *testing.B, n int) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "cmds/s")
}

func BenchmarkApplyCreate(b *testing.B) {
	cmds := make([]Command, b.N)
	for i := range cmds {
		cmds[i] = createCmd(i)
	}
	logs := encodeAll(b, cmds)
	f := New(DefaultConfig())
	b.ReportAllocs()
	b.ResetTimer()
	for _, l := range logs {
		if res := f.Apply(l).(*Result); res.Err != nil {
			b.Fatal(res.Err)
		}
	}
	reportRate(b, b.N)
}

func BenchmarkApplyTransition(b *testing.B) {
	f := New(DefaultConfig())
	n := b.N/4 + 1
	setup := make([]Command, n)
	for i := range setup {
		setup[i] = createCmd(i)
	}
	for _, l := range encodeAll(b, setup) {
		f.Apply(l)
	}
	actions := []Action{ActionStart, ActionAdvance, ActionAdvance, ActionAdvance}
	cmds := make([]Command, b.N)
	for i := range cmds {
		cmds[i] = &Transition{
			Header: Header{RequestID: fmt.Sprintf("t-%d", i), Time: t0 + int64(n+i)*1000, Node: "node-1"},
			ID:     FormatID(uint64(i/4 + 1)), Action: actions[i%4], Agent: "shell",
		}
	}
	logs := encodeAll(b, cmds)
	for i, l := range logs {
		l.Index = uint64(n + i + 1)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for _, l := range logs {
		if res := f.Apply(l).(*Result); res.Err != nil {
			b.Fatal(res.Err)
		}
	}
	reportRate(b, b.N)
}

func BenchmarkApplyBatch(b *testing.B) {
	const per = 64
	nb := b.N/per + 1
	logs := make([]*raft.Log, nb)
	for j := range logs {
		bt := &Batch{}
		for i := 0; i < per; i++ {
			bt.Commands = append(bt.Commands, createCmd(j*per+i))
		}
		logs[j] = encodeAll(b, []Command{bt})[0]
		logs[j].Index = uint64(j + 1)
	}
	f := New(DefaultConfig())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < len(logs); i += 16 {
		f.ApplyBatch(logs[i:min(i+16, len(logs))])
	}
	reportRate(b, nb*per)
}

func BenchmarkRestore(b *testing.B) {
	f := New(DefaultConfig())
	const n = 100_000
	for i := 0; i < n; i += 1000 {
		bt := &Batch{}
		for j := i; j < i+1000; j++ {
			bt.Commands = append(bt.Commands, createCmd(j))
		}
		l := encodeAll(b, []Command{bt})[0]
		l.Index = uint64(i/1000 + 1)
		f.Apply(l)
	}
	var buf bytes.Buffer
	if err := writeSnapshot(&buf, f.View().s); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		g := New(DefaultConfig())
		if err := g.Restore(io.NopCloser(bytes.NewReader(buf.Bytes()))); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "workorders/s")
}

// BenchmarkApplyBatchEntries is BenchmarkApplyBatch with one raft entry per
// command: ApplyBatch gets 256 entries of one create each, as raft hands
// over a burst of separately proposed commands.
func BenchmarkApplyBatchEntries(b *testing.B) {
	const per = 256
	cmds := make([]Command, b.N)
	for i := range cmds {
		cmds[i] = createCmd(i)
	}
	logs := encodeAll(b, cmds)
	f := New(DefaultConfig())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < len(logs); i += per {
		for _, out := range f.ApplyBatch(logs[i:min(i+per, len(logs))]) {
			if res := out.(*Result); res.Err != nil {
				b.Fatal(res.Err)
			}
		}
	}
	reportRate(b, b.N)
}

// BenchmarkApplyBatchCommand256 applies Batch commands of 256 creates, one
// raft entry each.
func BenchmarkApplyBatchCommand256(b *testing.B) {
	const per = 256
	nb := b.N/per + 1
	logs := make([]*raft.Log, nb)
	for j := range logs {
		bt := &Batch{}
		for i := 0; i < per; i++ {
			bt.Commands = append(bt.Commands, createCmd(j*per+i))
		}
		logs[j] = encodeAll(b, []Command{bt})[0]
		logs[j].Index = uint64(j + 1)
	}
	f := New(DefaultConfig())
	b.ReportAllocs()
	b.ResetTimer()
	for _, l := range logs {
		for _, res := range f.Apply(l).([]*Result) {
			if res.Err != nil {
				b.Fatal(res.Err)
			}
		}
	}
	reportRate(b, nb*per)
}

// BenchmarkApplyCreateRandomIDs is BenchmarkApplyCreate with request IDs
// like the ones nodes generate (random), rather than sequential ones,
// which an index ordered by request ID would find in cache.
func BenchmarkApplyCreateRandomIDs(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	cmds := make([]Command, b.N)
	for i := range cmds {
		c := createCmd(i)
		c.RequestID = fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64())
		cmds[i] = c
	}
	logs := encodeAll(b, cmds)
	f := New(DefaultConfig())
	b.ReportAllocs()
	b.ResetTimer()
	for _, l := range logs {
		if res := f.Apply(l).(*Result); res.Err != nil {
			b.Fatal(res.Err)
		}
	}
	reportRate(b, b.N)
}

// BenchmarkApplyCreateWithViews takes a View (as an API read does) every
// 100 commands, so writes keep paying for copy-on-write.
func BenchmarkApplyCreateWithViews(b *testing.B) {
	cmds := make([]Command, b.N)
	for i := range cmds {
		cmds[i] = createCmd(i)
	}
	logs := encodeAll(b, cmds)
	f := New(DefaultConfig())
	b.ReportAllocs()
	b.ResetTimer()
	for i, l := range logs {
		if res := f.Apply(l).(*Result); res.Err != nil {
			b.Fatal(res.Err)
		}
		if i%100 == 0 {
			f.View()
		}
	}
	reportRate(b, b.N)
}

// BenchmarkApplyAssign alternates the leader's Assign and the executor's
// complete, one work order after another, so WIP limits hold throughout;
// the work orders carry a stage, so both WIP counters move.
func BenchmarkApplyAssign(b *testing.B) {
	f := New(DefaultConfig())
	n := b.N/2 + 1
	setup := make([]Command, n)
	for i := range setup {
		c := createCmd(i)
		c.Spec.Stage = "code"
		setup[i] = c
	}
	for _, l := range encodeAll(b, setup) {
		f.Apply(l)
	}
	cmds := make([]Command, b.N)
	for i := range cmds {
		hdr := Header{RequestID: fmt.Sprintf("a-%d", i), Time: t0 + int64(n+i)*1000, Node: "leader"}
		id := FormatID(uint64(i/2 + 1))
		if i%2 == 0 {
			cmds[i] = &Assign{Header: hdr, ID: id, Node: "node-2", AgentType: "shell"}
		} else {
			cmds[i] = &Transition{Header: hdr, ID: id, Action: ActionComplete, Attempt: 1, Agent: "shell"}
		}
	}
	logs := encodeAll(b, cmds)
	for i, l := range logs {
		l.Index = uint64(n + i + 1)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for _, l := range logs {
		if res := f.Apply(l).(*Result); res.Err != nil {
			b.Fatal(res.Err)
		}
	}
	reportRate(b, b.N)
}
