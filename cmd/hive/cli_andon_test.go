package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/hive-swarm/hive/api"
)

// mustContain fails the test unless out contains every want.
func mustContain(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, out)
		}
	}
}

func showWO(t *testing.T, addr, id string) *api.WorkOrder {
	t.Helper()
	var wo api.WorkOrder
	decode(t, ok(t, addr, "wo", "show", id, "-json"), &wo)
	return &wo
}

// TestAndonEndToEnd pulls the cord through the CLI on a node of its own
// (a stopped line would disturb the shared node's other tests).
func TestAndonEndToEnd(t *testing.T) {
	addr := ownNode(t, "andon-e2e")
	bad := createWO(t, addr, "--title", "flaky deploy", "--bucket", "reliability")
	next := createWO(t, addr, "--title", "next deploy", "--bucket", "reliability")
	other := createWO(t, addr, "--title", "a feature", "--bucket", "features")
	for _, wo := range []*api.WorkOrder{bad, next, other} {
		if wo.State != "queued" {
			t.Fatalf("%s is %s right after create; the node has no agents, so it should be queued", wo.ID, wo.State)
		}
	}
	mustContain(t, "andon list (none)", ok(t, addr, "andon", "list"), "No open andons.", "No line is stopped.")

	var an api.Andon
	decode(t, ok(t, addr, "andon", "trigger", bad.ID, "--class", "agent_failure", "--reason", "exit 137",
		"--why", "out of memory, again", "--why", "no limit set", "-json"), &an)
	if an.ID != "AN-1" || an.LineName != "bucket:reliability" || !an.Quarantined || an.FixWorkOrder == "" ||
		!slices.Equal(an.Whys, []string{"out of memory, again", "no limit set"}) {
		t.Fatalf("trigger: %+v", an)
	}

	// The line is stopped: another work order of the bucket does not start.
	fails(t, addr, api.CodeLineStopped, "wo", "start", next.ID)
	if wo := showWO(t, addr, next.ID); wo.State != "queued" || wo.Attempt != 0 {
		t.Fatalf("refused start changed %s: %+v", next.ID, wo)
	}
	ok(t, addr, "wo", "start", other.ID) // other buckets run
	// The fix work order exists and the quarantined one depends on it.
	fix := showWO(t, addr, an.FixWorkOrder)
	if fix.FixFor != an.ID || fix.Bucket != "reliability" || fix.State != "queued" {
		t.Fatalf("fix work order %+v", fix)
	}
	q := showWO(t, addr, bad.ID)
	if q.State != "blocked" || q.Andon != an.ID || !slices.Contains(q.DependsOn, fix.ID) {
		t.Fatalf("quarantined work order %+v", q)
	}
	mustContain(t, "wo show", ok(t, addr, "wo", "show", bad.ID), "Quarantined by:", "AN-1", "Retry:", "3 attempts, backoff 1s ×2 up to 1m0s")

	// Explain, for people (one line per reason) and for scripts.
	out := ok(t, addr, "wo", "explain", bad.ID)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "quarantined: ") || !strings.HasPrefix(lines[1], "dependencies: ") ||
		!strings.Contains(lines[1], fix.ID) {
		t.Fatalf("wo explain %s:\n%s", bad.ID, out)
	}
	if out := ok(t, addr, "wo", "explain", next.ID); !strings.HasPrefix(out, "line_stopped: line bucket:reliability is stopped by andon AN-1") {
		t.Fatalf("wo explain %s:\n%s", next.ID, out)
	}
	var e api.Explanation
	decode(t, ok(t, addr, "wo", "why", next.ID, "-json"), &e)
	if e.ID != next.ID || len(e.Reasons) != 1 || e.Reasons[0].Code != api.ReasonLineStopped || !slices.Equal(e.Reasons[0].Refs, []string{"AN-1"}) {
		t.Fatalf("wo explain -json: %+v", e)
	}

	mustContain(t, "andon list", ok(t, addr, "andon", "list"), "AN-1", "open", "bucket:reliability", bad.ID, fix.ID, "agent_failure",
		"Stopped lines: bucket:reliability (AN-1)")
	var l api.AndonList
	decode(t, ok(t, addr, "andon", "ls", "-json"), &l)
	if len(l.Andons) != 1 || len(l.StoppedLines) != 1 {
		t.Fatalf("andon list -json: %+v", l)
	}
	mustContain(t, "andon show", ok(t, addr, "andon", "show", "AN-1"), "Why 1:", "out of memory, again", "Why 2:", "no limit set",
		"(quarantined)", "Fix work order:")

	// Update the root cause; bad input fails with a stable code.
	mustContain(t, "andon update", ok(t, addr, "andon", "update", "AN-1", "--root-cause", "the chart sets no memory limit"),
		"Root cause:", "the chart sets no memory limit", "Why 2:")
	fails(t, addr, "invalid_argument", "andon", "update", "AN-1")
	fails(t, addr, "invalid_argument", "andon", "resolve", "AN-1")
	fails(t, addr, "invalid_argument", "andon", "trigger", next.ID, "--scope", "stage")
	fails(t, addr, "invalid_argument", "andon", "trigger", next.ID, "--class", "two words")
	fails(t, addr, "invalid_argument", "andon", "trigger", next.ID, "--scope", "pipeline")
	fails(t, addr, "invalid_transition", "andon", "trigger", bad.ID)
	fails(t, addr, "not_found", "andon", "trigger", "WO-9999")
	fails(t, addr, "not_found", "andon", "show", "AN-9")
	fails(t, addr, "usage", "andon", "show")
	var still api.AndonList
	decode(t, ok(t, addr, "andon", "list", "--all", "-json"), &still)
	if len(still.Andons) != 1 {
		t.Fatalf("bad input created andons: %+v", still.Andons)
	}

	// Resolving resumes the line.
	mustContain(t, "andon resolve", ok(t, addr, "andon", "resolve", "AN-1", "--resolution", "memory limit set"),
		"Resolved AN-1", "bucket:reliability")
	ok(t, addr, "wo", "start", next.ID)
	if q := showWO(t, addr, bad.ID); q.Andon != "" || q.State != "blocked" {
		t.Fatalf("after resolve %s is %+v (want blocked by its fix work order)", bad.ID, q)
	}
	fails(t, addr, "invalid_transition", "andon", "resolve", "AN-1", "--resolution", "again")
	mustContain(t, "andon list after resolve", ok(t, addr, "andon", "list"), "No open andons.", "No line is stopped.")
	mustContain(t, "andon list --resolved", ok(t, addr, "andon", "list", "--resolved"), "AN-1", "resolved")
	fails(t, addr, "invalid_argument", "andon", "list", "--all", "--resolved")
}

func TestRetryFlags(t *testing.T) {
	addr := nodeAddr(t)
	wo := createWO(t, addr, "--title", "retried", "--retries", "4", "--retry-delay", "1h", "--retry-factor", "1.5", "--retry-max", "2h")
	if r := wo.Retry; r == nil || *r != (api.RetryPolicy{MaxAttempts: 5, InitialDelay: "1h0m0s", Factor: 1.5, MaxDelay: "2h0m0s"}) {
		t.Fatalf("retry policy %+v", wo.Retry)
	}
	mustContain(t, "wo show", ok(t, addr, "wo", "show", wo.ID), "5 attempts, backoff 1h0m0s ×1.5 up to 2h0m0s")
	if never := createWO(t, addr, "--title", "once", "--retries", "0"); never.Retry == nil || never.Retry.MaxAttempts != 1 {
		t.Fatalf("--retries 0: %+v", never.Retry)
	}
	for _, args := range [][]string{
		{"--retries", "-1"}, {"--retries", "100"}, {"--retry-factor", "20"}, {"--retry-factor", "0.5"},
		{"--retry-delay", "0s"}, {"--retry-max", "-1m"},
		{"--retry-delay", "1m", "--retry-max", "1s"}, // refused by the server
	} {
		fails(t, addr, "invalid_argument", append([]string{"wo", "create", "--title", "bad"}, args...)...)
	}

	// A fenced fail with attempts left is retried after a backoff.
	if st := showWO(t, addr, wo.ID).State; st != "queued" {
		t.Fatalf("%s is %s before start; the test node has no agents, so nothing should have started it", wo.ID, st)
	}
	ok(t, addr, "wo", "start", wo.ID)
	out := ok(t, addr, "wo", "fail", wo.ID, "--attempt", "1", "--reason", "exit 1")
	if !strings.HasPrefix(out, wo.ID+" failed attempt 1; retry 1 is queued, not before ") {
		t.Fatalf("wo fail (retried):\n%s", out)
	}
	if out := ok(t, addr, "wo", "explain", wo.ID); !strings.HasPrefix(out, "backoff: retry 1 of "+wo.ID) || !strings.Contains(out, "; until ") {
		t.Fatalf("wo explain (backoff):\n%s", out)
	}
	mustContain(t, "wo show", ok(t, addr, "wo", "show", wo.ID), "Retries:", "Not before:", "Last reason:", "exit 1")
	// --no-retry fails it for good.
	ok(t, addr, "wo", "start", wo.ID)
	var failed api.WorkOrder
	decode(t, ok(t, addr, "wo", "fail", wo.ID, "--attempt", "2", "--no-retry", "--reason", "bad input", "-json"), &failed)
	if failed.State != "failed" || failed.Retries != 1 || failed.LastReason != "bad input" {
		t.Fatalf("wo fail --no-retry: %+v", failed)
	}
	fails(t, addr, "usage", "wo", "start", wo.ID, "--no-retry")
	fails(t, addr, "not_found", "wo", "explain", "WO-999999")
}
