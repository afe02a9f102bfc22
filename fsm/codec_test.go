package fsm

import (
	"bytes"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func sampleCommands() []Command {
	hdr := Header{RequestID: "r-1", Time: t0, Node: "node-1"}
	cmds := []Command{
		&CreateWorkOrder{Header: hdr, Spec: WorkOrderSpec{Title: "t", Description: "d", Kind: "shell", Bucket: "cost",
			Priority: PriorityHigh, PriorityScore: 7, Labels: []string{"a", "b"}, Payload: []byte(`{"x":1}`), Effort: 30,
			Stage: "design", Signal: "cve", DependsOn: []string{"WO-1"}, Deadline: 5, Parent: "WO-2"}},
		&Transition{Header: hdr, ID: "WO-1", Action: ActionComplete, Attempt: 3, Agent: "a", Stage: "s", Progress: "p",
			Evidence: &Evidence{ExitCode: -2, Outputs: map[string]string{"k": "v", "a": ""}, Artifact: "sku", Log: "l"}, Reason: "r"},
		&Transition{Header: hdr, ID: "WO-1", Action: ActionStart},
		&Transition{Header: hdr, ID: "WO-1", Action: ActionCancel, Cascade: true},
		&AddDependency{Header: hdr, ID: "WO-1", DependsOn: []string{"WO-2", "WO-3"}},
		&RemoveDependency{Header: hdr, ID: "WO-1", DependsOn: []string{"WO-2"}},
		&MemoryPut{Header: hdr, Namespace: "ns", Key: "k", Value: []byte("v"), ExpiresAt: t0 + 1},
		&MemoryDelete{Header: hdr, Namespace: "ns", Key: "k"},
		&MemoryImport{Header: hdr, Entries: []MemoryEntry{{Namespace: "a", Key: "b", Value: []byte("c"), ExpiresAt: 5}, {Namespace: "d", Key: "e"}}},
		&Tick{Header: hdr},
		&SetSchedulerConfig{Header: hdr, Config: sampleSchedulerConfig()},
		&SetSchedulerConfig{Header: hdr, Config: SchedulerConfig{Strategy: "fifo"}},
		&Assign{Header: hdr, ID: "WO-1", Node: "node-2", AgentType: "shell"},
		&Assign{Header: hdr, ID: "WO-2", Node: "node-3"},
		&RunPipeline{Header: hdr, Pipeline: "default", Title: "t", Description: "d", Bucket: "security",
			Priority: PriorityCritical, Labels: []string{"a", "b"}, Payload: []byte(`{}`), Deadline: 9},
		&CreateWorkOrder{Header: hdr, Spec: WorkOrderSpec{Title: "timed", RunTimeout: 90 * time.Second}},
		&CreateWorkOrder{Header: hdr, Spec: WorkOrderSpec{Title: "timed and retried", Kind: "shell", RunTimeout: MaxRunTimeout,
			Retry: RetryPolicy{MaxAttempts: 2, InitialDelay: time.Second}}},
	}
	cmds = append(cmds, failureSamples(hdr)...)
	return append(cmds, &Batch{Commands: append([]Command(nil), cmds...)})
}

// sampleSchedulerConfig is a valid config with every field set.
func sampleSchedulerConfig() SchedulerConfig {
	c := DefaultSchedulerConfig()
	c.Strategy = "critical_path"
	c.StageWIP["review"] = 2
	c.Rules = []DelegationRule{{Pattern: `(?i)\bcve-\d+`, AgentType: "security-scanner"}, {Pattern: "docs?", AgentType: "writer"}}
	c.Pipelines = append(c.Pipelines, PipelineTemplate{Name: "hotfix", Stages: []PipelineStage{
		{Name: "code", AgentType: "coder", Effort: 600}, {Name: "verify", Stage: "test"},
	}})
	return c
}

func TestCodecRoundTrip(t *testing.T) {
	for _, c := range sampleCommands() {
		b, err := Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		if b[0] != byte(c.Type()) || b[1] != CodecVersion && b[1] != CodecVersionExt && b[1] != CodecVersionRunTimeout {
			t.Fatalf("%T: header bytes %v", c, b[:2])
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("%T: %v", c, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("%T: round trip\n got %#v\nwant %#v", c, got, c)
		}
		b2, _ := Encode(got)
		if !bytes.Equal(b, b2) {
			t.Fatalf("%T: re-encoding differs", c)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	good, _ := Encode(&Tick{Header: Header{Time: 1}})
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"unknown", []byte{42, 1}, ErrUnknownType},
		{"unknown ignorable", []byte{byte(IgnoreUnknownTypeFlag | 42), 9, 1, 2, 3}, ErrUnknownIgnorable},
		{"version", []byte{byte(TickType), 2, 0, 0, 0}, ErrUnsupportedVersion},
		{"trailing", append(bytes.Clone(good), 0), ErrMalformed},
		{"truncated", good[:len(good)-1], ErrMalformed},
		{"huge length", []byte{byte(MemoryPutType), 1, 0xff, 0xff, 0xff, 0xff, 0x0f}, ErrMalformed},
		{"huge count", []byte{byte(BatchType), 1, 0xff, 0xff, 0xff, 0xff, 0x0f}, ErrMalformed},
		{"nested batch", mustEncode(t, &Batch{Commands: []Command{&Tick{}}}), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.in)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	inner := mustEncode(t, &Batch{Commands: []Command{&Tick{}}})
	w := &wbuf{}
	w.byte1(byte(BatchType))
	w.byte1(CodecVersion)
	w.uvarint(1)
	w.bytes(inner)
	if _, err := Decode(w.b); !errors.Is(err, ErrMalformed) {
		t.Fatalf("nested batch decoded: %v", err)
	}
	if _, err := Encode(&Batch{Commands: []Command{&Batch{}}}); err == nil {
		t.Fatal("nested batch encoded")
	}
}

func mustEncode(t testing.TB, c Command) []byte {
	b, err := Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// refusedAsCodecVersion checks that the encoding b, relabelled as
// version, fails to decode with want.
func refusedAsCodecVersion(t *testing.T, b []byte, version byte, want error) {
	t.Helper()
	b = bytes.Clone(b)
	b[1] = version
	if _, err := Decode(b); !errors.Is(err, want) {
		t.Fatalf("type %d relabelled as version %d: %v, want %v", b[0], version, err, want)
	}
}

func TestApplySkipsIgnorableAndPanicsOnGarbage(t *testing.T) {
	f := New(DefaultConfig())
	if out := f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: []byte{0x80 | 50, 1}}); out != nil {
		t.Fatalf("ignorable: %v", out)
	}
	if out := f.Apply(&raft.Log{Index: 2, Type: raft.LogConfiguration}); out != nil || f.AppliedIndex() != 2 {
		t.Fatal("configuration entry")
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "raft index 3") {
			t.Fatalf("recover: %v", r)
		}
	}()
	f.Apply(&raft.Log{Index: 3, Type: raft.LogCommand, Data: []byte{50, 1}})
}

func TestBatchResults(t *testing.T) {
	h := newHarness(t)
	out := h.applyRaw(&Batch{Commands: []Command{
		&CreateWorkOrder{Spec: WorkOrderSpec{Title: "a"}},
		&Transition{ID: "WO-9", Action: ActionStart},
		&CreateWorkOrder{Spec: WorkOrderSpec{Title: "b", DependsOn: []string{"WO-1"}}},
	}})
	res := out.([]*Result)
	if len(res) != 3 || res[0].WorkOrder.ID != "WO-1" || !errors.Is(res[1].Err, ErrNotFound) || res[2].WorkOrder.State != StateBlocked {
		t.Fatalf("batch results %+v", res)
	}
}

func TestValidate(t *testing.T) {
	ok := WorkOrderSpec{Title: "ok"}
	with := func(f func(*WorkOrderSpec)) Command {
		s := ok
		f(&s)
		return &CreateWorkOrder{Spec: s}
	}
	tests := []struct {
		cmd   Command
		code  *Error
		field string
	}{
		{with(func(s *WorkOrderSpec) { s.Title = "" }), ErrInvalidArgument, "title"},
		{with(func(s *WorkOrderSpec) { s.Title = strings.Repeat("é", 501) }), ErrInvalidArgument, "title"},
		{with(func(s *WorkOrderSpec) { s.Priority = 9 }), ErrInvalidArgument, "priority"},
		{with(func(s *WorkOrderSpec) { s.PriorityScore = 11 }), ErrInvalidArgument, "priority_score"},
		{with(func(s *WorkOrderSpec) { s.Bucket = "x" }), ErrInvalidArgument, "bucket"},
		{with(func(s *WorkOrderSpec) { s.Labels = make([]string, 33) }), ErrInvalidArgument, "labels"},
		{with(func(s *WorkOrderSpec) { s.Labels = []string{strings.Repeat("l", 65)} }), ErrInvalidArgument, "labels[0]"},
		{with(func(s *WorkOrderSpec) { s.Payload = make([]byte, MaxPayload+1) }), ErrInvalidArgument, "payload"},
		{with(func(s *WorkOrderSpec) { s.Effort = -1 }), ErrInvalidArgument, "effort"},
		{with(func(s *WorkOrderSpec) { s.DependsOn = []string{"WO-01"} }), ErrInvalidArgument, "depends_on[0]"},
		{&AddDependency{ID: "WO-1", DependsOn: []string{"WO-1"}}, ErrSelfDependency, "itself"},
		{&Transition{ID: "WO-1", Action: "jump"}, ErrInvalidArgument, "action"},
		{&Transition{ID: "x", Action: ActionStart}, ErrInvalidArgument, "id"},
		{&MemoryPut{Namespace: "", Key: "k"}, ErrInvalidArgument, "namespace"},
		{&MemoryPut{Namespace: "a b", Key: "k"}, ErrInvalidArgument, "namespace"},
		{&MemoryPut{Namespace: "ns", Key: strings.Repeat("k", 513)}, ErrInvalidArgument, "key"},
		{&MemoryPut{Namespace: "ns", Key: "k", Value: make([]byte, MaxValueLen+1)}, ErrInvalidArgument, "value"},
		{with(func(s *WorkOrderSpec) { s.Retry.Factor = 1 }), ErrInvalidArgument, "retry.factor"},
		{with(func(s *WorkOrderSpec) { s.RunTimeout = -time.Second }), ErrInvalidArgument, "run_timeout"},
		{with(func(s *WorkOrderSpec) { s.RunTimeout = MaxRunTimeout + 1 }), ErrInvalidArgument, "run_timeout"},
		{&AndonTrigger{WorkOrder: "x", Class: "c"}, ErrInvalidArgument, "work_order"},
		{&AndonTrigger{WorkOrder: "WO-1", Class: "c", FixKind: "a b"}, ErrInvalidArgument, "fix_kind"},
		{&AndonUpdate{ID: "AN-1", Whys: []string{"ok", ""}}, ErrInvalidArgument, "whys[1]"},
		{&AndonResolve{ID: "AN-1"}, ErrInvalidArgument, "resolution"},
		{&SLAEvent{ID: "WO-1", Kind: "x"}, ErrInvalidArgument, "kind"},
		{&RecordStale{ID: "WO-1", Attempt: 0, Action: ActionFail}, ErrInvalidArgument, "attempt"},
		{&RecordStale{ID: "WO-1", Attempt: 1, Action: "jump"}, ErrInvalidArgument, "action"},
		{&Batch{Commands: []Command{&Tick{}, &Batch{}}}, ErrInvalidArgument, "nested"},
		{&Batch{Commands: []Command{&Tick{}, &Transition{ID: "WO-1", Action: "x"}}}, ErrInvalidArgument, "commands[1]"},
	}
	for _, tc := range tests {
		err := Validate(tc.cmd)
		if !errors.Is(err, tc.code) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%T: got %v, want %s naming %q", tc.cmd, err, tc.code.Code, tc.field)
		}
	}
	for _, c := range sampleCommands() {
		if err := Validate(c); err != nil {
			t.Errorf("%T: %v", c, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, c := range sampleCommands() {
		f.Add(mustEncode(f, c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Decode(b)
		if err != nil {
			return
		}
		enc, err := Encode(c)
		if err != nil {
			t.Fatalf("decoded %T does not encode: %v", c, err)
		}
		c2, err := Decode(enc)
		if err != nil || !reflect.DeepEqual(c, c2) {
			t.Fatalf("round trip: %v\n%#v\n%#v", err, c, c2)
		}
	})
}

// FuzzApply applies fuzzed entries after a small fixed history; Apply must
// not panic on anything that decodes, and the chain must stay valid.
func FuzzApply(f *testing.F) {
	for _, c := range sampleCommands() {
		f.Add(mustEncode(f, c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := Decode(b); err != nil {
			return
		}
		h := chainHarness(t)
		h.index++
		h.f.Apply(&raft.Log{Index: h.index, Type: raft.LogCommand, Data: b})
		if res := h.f.View().Verify(0, 0); !res.OK {
			t.Fatalf("chain broken: %+v", res)
		}
		restoreFrom(t, h.snapshot())
	})
}

func FuzzRestore(f *testing.F) {
	h := chainHarness(f)
	h.apply(&MemoryPut{Header: Header{RequestID: "x"}, Namespace: "n", Key: "k", ExpiresAt: h.now + 1e12})
	h.apply(&SetSchedulerConfig{Config: sampleSchedulerConfig()})
	h.apply(&RunPipeline{Pipeline: "hotfix", Title: "fix"})
	f.Add(h.snapshot())
	f.Add(newHarness(f).snapshot())
	h.apply(&CreateWorkOrder{Spec: WorkOrderSpec{Title: "timed", RunTimeout: time.Minute}})
	f.Add(h.snapshot())
	for _, name := range []string{"testdata/snapshot-v1.bin", "testdata/snapshot-v2.bin", "testdata/snapshot-v3.bin"} {
		if old, err := os.ReadFile(name); err == nil {
			f.Add(old)
		}
	}
	f.Add(failureHarness(f).snapshot())
	f.Fuzz(func(t *testing.T, b []byte) {
		g := New(DefaultConfig())
		if err := g.Restore(io.NopCloser(bytes.NewReader(b))); err != nil {
			return
		}
		var buf bytes.Buffer
		if err := writeSnapshot(&buf, g.View().s); err != nil {
			t.Fatal(err)
		}
		if b[8] < snapVersion { // re-encoded as the current version
			b = buf.Bytes()
			g = New(DefaultConfig())
			if err := g.Restore(io.NopCloser(bytes.NewReader(b))); err != nil {
				t.Fatalf("re-encoded version %d snapshot: %v", b[8], err)
			}
			buf.Reset()
			if err := writeSnapshot(&buf, g.View().s); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(buf.Bytes(), b) {
			t.Fatal("accepted snapshot does not re-encode identically")
		}
	})
}

func TestHeaderOf(t *testing.T) {
	for _, c := range sampleCommands() {
		h := headerOf(c)
		if _, batch := c.(*Batch); batch != (h == nil) {
			t.Errorf("%T: header %v", c, h)
		}
	}
	a := &Assign{Header: Header{Node: "leader"}, Node: "worker"}
	if headerOf(a).Node != "leader" {
		t.Fatal("headerOf(Assign) is not the proposer's header")
	}
}

// TestCodecRunTimeoutVersion checks that only a CreateWorkOrder with a
// run timeout is written as CodecVersionRunTimeout (the CodecVersionExt
// body, retry policy included even when zero, then the timeout), that
// every other create keeps its bytes, and that the older versions still
// decode, with no run timeout.
func TestCodecRunTimeoutVersion(t *testing.T) {
	plain := mustEncode(t, &CreateWorkOrder{Spec: WorkOrderSpec{Title: "x"}})
	// Version 1 bytes, pinned: type, version, empty request ID, time 0,
	// empty node, title "x", then the remaining empty fields.
	want := []byte{byte(CreateWorkOrderType), CodecVersion, 0, 0, 0, 1, 'x', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if !bytes.Equal(plain, want) {
		t.Fatalf("version 1 bytes changed:\n got %v\nwant %v", plain, want)
	}
	retry := RetryPolicy{MaxAttempts: 2}
	withRetry := mustEncode(t, &CreateWorkOrder{Spec: WorkOrderSpec{Title: "x", Retry: retry}})
	timed := mustEncode(t, &CreateWorkOrder{Spec: WorkOrderSpec{Title: "x", RunTimeout: time.Minute}})
	both := mustEncode(t, &CreateWorkOrder{Spec: WorkOrderSpec{Title: "x", Retry: retry, RunTimeout: time.Minute}})
	if withRetry[1] != CodecVersionExt || timed[1] != CodecVersionRunTimeout || both[1] != CodecVersionRunTimeout {
		t.Fatalf("versions %d %d %d", withRetry[1], timed[1], both[1])
	}
	ext := func(b []byte, p RetryPolicy, d time.Duration) []byte {
		w := &wbuf{b: bytes.Clone(b)}
		w.b[1] = CodecVersionRunTimeout
		encRetry(w, &p)
		w.varint(int64(d))
		return w.b
	}
	if !bytes.Equal(timed, ext(plain, RetryPolicy{}, time.Minute)) || !bytes.Equal(both, ext(plain, retry, time.Minute)) {
		t.Fatal("version 3 is not the version 1 body, the retry policy and the run timeout")
	}
	for _, b := range [][]byte{plain, withRetry} {
		c, err := Decode(b)
		if err != nil || c.(*CreateWorkOrder).Spec.RunTimeout != 0 {
			t.Fatalf("version %d: %v %+v", b[1], err, c)
		}
	}
	c, err := Decode(both)
	if err != nil || c.(*CreateWorkOrder).Spec.RunTimeout != time.Minute || c.(*CreateWorkOrder).Spec.Retry != retry {
		t.Fatalf("version 3: %v %+v", err, c)
	}
	// Version 3 of another type, or without its run timeout, is refused.
	refusedAsCodecVersion(t, mustEncode(t, &Transition{ID: "WO-1", Action: ActionFail, NoRetry: true}), CodecVersionRunTimeout, ErrUnsupportedVersion)
	refusedAsCodecVersion(t, withRetry, CodecVersionRunTimeout, ErrMalformed)
	if _, err := Decode(append(bytes.Clone(both), 0)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("version 3 with a trailing byte: %v", err)
	}
}
