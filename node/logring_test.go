package node

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestLogRingKeepsRecentLines(t *testing.T) {
	var out bytes.Buffer
	ring := newLogRing(3)
	l := ring.wrap(hclog.New(&hclog.LoggerOptions{Name: "n1", Level: hclog.Info, Output: &out}))
	l.Debug("hidden")
	l.Info("one", "k", 1)
	l.Named("raft").With("peer", "n2").Warn("two")
	l.Error("three")
	l.Info("four")
	got := ring.last(0)
	if len(got) != 3 || !strings.HasSuffix(got[0], "[WARN] n1.raft: two peer=n2") || !strings.HasSuffix(got[2], "[INFO] n1: four") {
		t.Fatalf("ring %q", got)
	}
	if last := ring.last(1); len(last) != 1 || !strings.HasSuffix(last[0], "four") {
		t.Fatalf("last(1) %q", last)
	}
	if !strings.Contains(out.String(), "one: k=1") {
		t.Fatalf("the wrapped logger did not log: %q", out.String())
	}
	// Served by GET /v1/agent/logs.
	s := newHTTPServer(&Node{logs: ring}, nil)
	defer s.bgCancel()
	rec := httptest.NewRecorder()
	s.agentLogs(rec, httptest.NewRequest(http.MethodGet, "/v1/agent/logs?n=2", nil))
	if rec.Code != http.StatusOK || strings.Count(rec.Body.String(), "\n") != 2 {
		t.Fatalf("GET /v1/agent/logs: %d %q", rec.Code, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	s.agentLogs(rec, httptest.NewRequest(http.MethodGet, "/v1/agent/logs?n=x", nil))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "invalid_argument") {
		t.Fatalf("bad n: %d %q", rec.Code, rec.Body.String())
	}
}
