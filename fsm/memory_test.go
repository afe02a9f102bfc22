package fsm

import (
	"errors"
	"testing"
)

func TestMemoryTTL(t *testing.T) {
	h := newHarness(t)
	at := func(sec int64) Header { return Header{Time: t0 + sec*1e9} }
	put := func(sec int64, ns, key, val string, exp int64) *Result {
		return h.apply(&MemoryPut{Header: at(sec), Namespace: ns, Key: key, Value: []byte(val), ExpiresAt: exp})
	}
	if r := put(1, "team", "a/1", "one", 0); r.Err != nil || r.Memory.CreateIndex != 1 {
		t.Fatalf("put: %+v", r)
	}
	put(2, "team", "a/2", "two", t0+10e9)
	put(3, "team", "b/1", "three", t0+20e9)
	put(4, "other", "a/1", "four", 0)
	v := h.f.View()
	if v.NextExpiry() != t0+10e9 {
		t.Fatalf("next expiry %d", v.NextExpiry())
	}
	if e, err := v.Memory("team", "a/2"); err != nil || string(e.Value) != "two" {
		t.Fatalf("get: %v", err)
	}
	all, _ := v.MemoryQuery("", "", "")
	if len(all) != 4 || all[0].Namespace != "other" {
		t.Fatalf("all: %d", len(all))
	}
	if es, _ := v.MemoryQuery("team", "a/", ""); len(es) != 2 {
		t.Fatalf("prefix: %d", len(es))
	}
	if es, _ := v.MemoryQuery("team", "", "*/1"); len(es) != 2 || es[1].Key != "b/1" {
		t.Fatalf("pattern: %v", es)
	}
	if _, err := v.MemoryQuery("team", "", "["); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad pattern: %v", err)
	}
	// A tick at the expiry time deletes the entry on every node at this index.
	res := h.apply(&Tick{Header: at(10)})
	if res.Count != 1 {
		t.Fatalf("tick expired %d", res.Count)
	}
	if _, err := h.f.View().Memory("team", "a/2"); !errors.Is(err, ErrNotFound) {
		t.Fatal("expired entry visible")
	}
	if h.f.View().NextExpiry() != t0+20e9 {
		t.Fatal("expiry index not advanced")
	}
	// Any command with a later time expires entries too.
	h.create("later") // stamped by the harness clock, which is far behind
	h.apply(&CreateWorkOrder{Header: at(25), Spec: WorkOrderSpec{Title: "x"}})
	if _, err := h.f.View().Memory("team", "b/1"); !errors.Is(err, ErrNotFound) || h.f.View().NextExpiry() != 0 {
		t.Fatal("entry did not expire with a later command")
	}
	if r := put(26, "team", "c", "x", t0+26e9); !errors.Is(r.Err, ErrInvalidArgument) {
		t.Fatalf("put already expired: %v", r.Err)
	}
	// Overwrite keeps CreateIndex; delete; delete again is not found.
	r := put(30, "team", "a/1", "uno", t0+100e9)
	if r.Memory.CreateIndex != 1 || r.Memory.ModifyIndex == 1 {
		t.Fatalf("overwrite: %+v", r.Memory)
	}
	if r := h.apply(&MemoryDelete{Namespace: "team", Key: "a/1"}); r.Err != nil {
		t.Fatal(r.Err)
	}
	if h.f.View().NextExpiry() != 0 {
		t.Fatal("deleted entry left in the expiry index")
	}
	if r := h.apply(&MemoryDelete{Namespace: "team", Key: "a/1"}); !errors.Is(r.Err, ErrNotFound) {
		t.Fatal(r.Err)
	}
	// Import skips expired entries.
	r = h.apply(&MemoryImport{Header: at(40), Entries: []MemoryEntry{
		{Namespace: "imp", Key: "k1", Value: []byte("1")},
		{Namespace: "imp", Key: "k2", Value: []byte("2"), ExpiresAt: t0 + 39e9},
		{Namespace: "imp", Key: "k3", Value: []byte("3"), ExpiresAt: t0 + 50e9},
	}})
	if r.Err != nil || r.Count != 2 {
		t.Fatalf("import: %v %d", r.Err, r.Count)
	}
}
