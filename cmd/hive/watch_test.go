package main

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hive-swarm/hive/api"
)

func TestMonitorPrintsEvents(t *testing.T) {
	addr := nodeAddr(t)
	wo := createWO(t, addr, "--title", "monitored")
	idx := strconv.FormatUint(max(wo.CreateIndex, 1), 10)
	// Plain lines (the output is not a terminal): no escape codes.
	out := ok(t, addr, "monitor", "--workorder", wo.ID, "--topic", "workorder", "--index", idx, "--count", "1")
	if strings.Count(out, "\n") != 1 || !strings.Contains(out, " workorder.created "+wo.ID+" - -> queued") || strings.Contains(out, "\x1b") {
		t.Fatalf("monitor printed %q", out)
	}
	ok(t, addr, "wo", "cancel", wo.ID)
	out = ok(t, addr, "monitor", "--workorder", wo.ID, "--index", idx, "--count", "2", "-json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("monitor -json printed %q", out)
	}
	var e api.Event
	if err := json.Unmarshal([]byte(lines[1]), &e); err != nil || e.Type != api.EventWorkOrderCancelled || e.WorkOrder != wo.ID || e.ID == "" {
		t.Fatalf("second event %q: %+v %v", lines[1], e, err)
	}
	fails(t, addr, "usage", "monitor", "--index", "1", "--after", "3")
	fails(t, addr, "invalid_argument", "monitor", "--topic", "bogus", "--count", "1")
}

func TestWatchExitsWithTheOutcome(t *testing.T) {
	addr := nodeAddr(t)
	// Already finished: the replay ends the watch at once.
	c := createWO(t, addr, "--title", "watched cancel")
	ok(t, addr, "wo", "cancel", c.ID)
	stderr := fails(t, addr, "workorder_cancelled", "wo", "watch", c.ID)
	if !strings.Contains(stderr, c.ID+" cancelled") {
		t.Fatalf("stderr %q", stderr)
	}
	f := createWO(t, addr, "--title", "watched fail")
	ok(t, addr, "wo", "start", f.ID, "--agent", "shell")
	ok(t, addr, "wo", "fail", f.ID, "--reason", "broken")
	fails(t, addr, "workorder_failed", "wo", "watch", f.ID)
	fails(t, addr, "not_found", "wo", "watch", "WO-999999")

	// Followed live until it completes: exit status 0.
	w := createWO(t, addr, "--title", "watched complete")
	done := make(chan result, 1)
	go func() { done <- hive(t, addr, "wo", "watch", w.ID) }()
	waitFor(t, 30*time.Second, "the watch to subscribe", func() error { return subscribed(addr) })
	ok(t, addr, "wo", "start", w.ID, "--agent", "shell")
	ok(t, addr, "wo", "complete", w.ID)
	r := <-done
	if r.err != nil || !strings.Contains(r.stdout, "workorder.created "+w.ID) || !strings.Contains(r.stdout, "workorder.completed "+w.ID) {
		t.Fatalf("watch: %v\nstdout: %s\nstderr: %s", r.err, r.stdout, r.stderr)
	}
}

// subscribed returns nil once the node has an event stream subscriber.
func subscribed(addr string) error {
	cl, err := api.NewClient(&api.Config{Address: addr})
	if err != nil {
		return err
	}
	s, err := cl.Events().MetricsSummary(context.Background())
	if err != nil {
		return err
	}
	if s.Events.Subscribers == 0 {
		return errors.New("no subscriber yet")
	}
	return nil
}
