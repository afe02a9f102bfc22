package node

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hive-swarm/hive/api"
)

func TestHTTPMemory(t *testing.T) {
	a := newTestAPI(t)
	var e api.MemoryEntry
	a.do("PUT", "/v1/memory/team/build.status", `{"value":{"ok":true,"n":3}}`).ok(t, 200, &e)
	if e.Namespace != "team" || e.Key != "build.status" || string(e.Value) != `{"ok":true,"n":3}` ||
		e.ExpiresAt != nil || e.CreateIndex == 0 {
		t.Fatalf("put %+v", e)
	}
	before := time.Now()
	a.do("PUT", "/v1/memory/team/lease", `{"value":"held","ttl":"10m"}`).ok(t, 200, &e)
	if e.ExpiresAt == nil || e.ExpiresAt.Before(before.Add(9*time.Minute)) || e.ExpiresAt.After(time.Now().Add(11*time.Minute)) {
		t.Fatalf("ttl entry %+v", e)
	}
	a.do("PUT", "/v1/memory/other/build.log", `{"value":[1,2]}`).ok(t, 200, nil)
	// A key with a slash travels escaped.
	a.do("PUT", "/v1/memory/team/a%2Fb", `{"value":1}`).ok(t, 200, &e)
	if e.Key != "a/b" {
		t.Fatalf("escaped key stored as %q", e.Key)
	}

	a.do("GET", "/v1/memory/team/build.status", nil).ok(t, 200, &e)
	if string(e.Value) != `{"ok":true,"n":3}` {
		t.Fatalf("get %+v", e)
	}
	var l api.MemoryList
	a.do("GET", "/v1/memory/team", nil).ok(t, 200, &l)
	if len(l.Entries) != 3 || l.Index == 0 {
		t.Fatalf("list %+v", l.Entries)
	}
	a.do("GET", "/v1/memory/team?prefix=build.", nil).ok(t, 200, &l)
	if len(l.Entries) != 1 || l.Entries[0].Key != "build.status" {
		t.Fatalf("prefix %+v", l.Entries)
	}
	a.do("GET", "/v1/memory/team?pattern=l*", nil).ok(t, 200, &l)
	if len(l.Entries) != 1 || l.Entries[0].Key != "lease" {
		t.Fatalf("pattern %+v", l.Entries)
	}
	a.do("GET", "/v1/memory/team?pattern=[", nil).apiErr(t, 400, "invalid_argument")

	// Export, then import into a fresh node.
	r := a.do("GET", "/v1/memory", nil)
	r.ok(t, 200, &l)
	if len(l.Entries) != 4 {
		t.Fatalf("export %+v", l.Entries)
	}
	a.do("GET", "/v1/memory?namespace=other", nil).ok(t, 200, &l)
	if len(l.Entries) != 1 {
		t.Fatalf("export of one namespace %+v", l.Entries)
	}
	b := newTestAPI(t)
	var res api.MemoryImportResult
	b.do("POST", "/v1/memory", r.body).ok(t, 200, &res) // an export is importable as it is
	if res.Imported != 4 {
		t.Fatalf("imported %d", res.Imported)
	}
	b.do("GET", "/v1/memory/team/build.status", nil).ok(t, 200, &e)
	if string(e.Value) != `{"ok":true,"n":3}` {
		t.Fatalf("imported entry %+v", e)
	}

	r = a.do("DELETE", "/v1/memory/team/build.status", nil)
	if r.status != 204 || len(r.body) != 0 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	a.do("GET", "/v1/memory/team/build.status", nil).apiErr(t, 404, "not_found")
	a.do("DELETE", "/v1/memory/team/build.status", nil).apiErr(t, 404, "not_found")
}

func TestHTTPMemoryBadInput(t *testing.T) {
	a := newTestAPI(t)
	a.do("PUT", "/v1/memory/team/k", `{"value":1}`).ok(t, 200, nil)
	for _, tc := range []struct {
		name         string
		method, path string
		body         string
		status       int
		code         string
	}{
		{"no value", "PUT", "/v1/memory/team/k", `{"ttl":"1m"}`, 400, "invalid_argument"},
		{"bad ttl", "PUT", "/v1/memory/team/k", `{"value":1,"ttl":"soon"}`, 400, "invalid_argument"},
		{"negative ttl", "PUT", "/v1/memory/team/k", `{"value":1,"ttl":"-1m"}`, 400, "invalid_argument"},
		{"zero ttl", "PUT", "/v1/memory/team/k", `{"value":1,"ttl":"0s"}`, 400, "invalid_argument"},
		{"bad namespace", "PUT", "/v1/memory/te%20am/k", `{"value":1}`, 400, "invalid_argument"},
		{"unknown field", "PUT", "/v1/memory/team/k", `{"value":1,"expires":"x"}`, 400, "unknown_field"},
		{"malformed value", "PUT", "/v1/memory/team/k", `{"value":{"a":}`, 400, "bad_json"},
		{"huge value", "PUT", "/v1/memory/team/k", `{"value":"` + strings.Repeat("v", 300<<10) + `"}`, 400, "invalid_argument"},
		{"empty import", "POST", "/v1/memory", `{"entries":[]}`, 400, "invalid_argument"},
		{"import without key", "POST", "/v1/memory", `{"entries":[{"namespace":"a","value":1}]}`, 400, "invalid_argument"},
		{"import null entry", "POST", "/v1/memory", `{"entries":[null]}`, 400, "invalid_argument"},
		{"delete body unknown field", "DELETE", "/v1/memory/team/k", `{"x":1}`, 400, "unknown_field"},
		{"get unknown", "GET", "/v1/memory/team/nope", ``, 404, "not_found"},
		{"list bad namespace", "GET", "/v1/memory/te%20am", ``, 400, "invalid_argument"},
		{"export bad namespace", "GET", "/v1/memory?namespace=a/b", ``, 400, "invalid_argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, proposals := a.b.fingerprint(), a.b.proposalCount()
			var body any
			if tc.body != "" {
				body = tc.body
			}
			a.do(tc.method, tc.path, body).apiErr(t, tc.status, tc.code)
			if after := a.b.fingerprint(); after != before {
				t.Errorf("state changed: %+v -> %+v", before, after)
			}
			if a.b.proposalCount() != proposals {
				t.Errorf("bad input reached the state machine")
			}
		})
	}
	var e api.MemoryEntry
	a.do("GET", "/v1/memory/team/k", nil).ok(t, 200, &e)
	if !json.Valid(e.Value) || string(e.Value) != "1" {
		t.Fatalf("entry changed: %+v", e)
	}
}
