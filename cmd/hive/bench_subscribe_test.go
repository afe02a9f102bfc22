package main

import (
	"math"
	"testing"
)

// TestBenchSubscribe holds subscribers on a node for a moment and checks
// the report, and that bad input is refused with a stable code.
func TestBenchSubscribe(t *testing.T) {
	addr := nodeAddr(t)
	var res struct {
		Subscribers int     `json:"subscribers"`
		Connected   int     `json:"connected"`
		Cutoffs     uint64  `json:"cutoffs"`
		Elapsed     int64   `json:"elapsed_ns"`
		Delivered   uint64  `json:"delivered"`
		PerSec      float64 `json:"delivered_per_sec"`
	}
	decode(t, ok(t, addr, "bench", "subscribe", "--subscribers", "4", "--duration", "2s", "-json"), &res)
	// The shared node may commit nothing meanwhile, so no event count is
	// required; the rate must match the count over the time followed.
	wantRate := float64(res.Delivered) / (float64(res.Elapsed) / 1e9)
	if res.Subscribers != 4 || res.Connected != 4 || res.Cutoffs != 0 || res.Elapsed < 2e9 || math.Abs(res.PerSec-wantRate) > 1e-6*max(1, wantRate) {
		t.Fatalf("report %+v", res)
	}
	fails(t, addr, "invalid_argument", "bench", "subscribe", "--subscribers", "0")
	fails(t, addr, "invalid_argument", "bench", "subscribe", "--duration", "-1s")
	fails(t, "http://127.0.0.1:1", "unreachable", "bench", "subscribe", "--duration", "1s")
}
