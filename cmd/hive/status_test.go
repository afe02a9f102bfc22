package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestStatusSummarisesTheSwarm(t *testing.T) {
	addr := nodeAddr(t)
	createWO(t, addr, "--title", "status counted")
	out := ok(t, addr, "status")
	for _, want := range []string{"Leader:", "Raft state:", "Members:", "1 alive, 0 failed", "by state:", "queued", "Open andons:", "Event streams:", "MEMBER", "cli-test"} {
		if !strings.Contains(out, want) {
			t.Fatalf("status lacks %q:\n%s", want, out)
		}
	}
	var raw map[string]json.RawMessage
	decode(t, ok(t, addr, "status", "-json"), &raw)
	// The fields of /v1/status keep their names; the summary adds some.
	for _, key := range []string{"node", "leader", "raft_state", "term", "commit_index", "applied_index", "last_index", "voters", "workorders", "receipts", "chain_head",
		"members", "workorders_by_state", "queued", "agents", "event_streams"} {
		if _, ok := raw[key]; !ok {
			t.Fatalf("status -json lacks %q: %s", key, raw)
		}
	}
	var s struct {
		Members struct{ Total, Alive int }
		ByState map[string]int `json:"workorders_by_state"`
	}
	decode(t, ok(t, addr, "status", "-json"), &s)
	if s.Members.Total != 1 || s.Members.Alive != 1 || s.ByState["queued"] < 1 {
		t.Fatalf("status summary %+v", s)
	}
}
