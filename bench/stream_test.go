package bench

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// TestRunStreamDeliversToSubscribers runs a small stream bench: the
// dispatch bench without, then with SSE subscribers on a real cluster,
// and checks that every subscriber attached and received events.
func TestRunStreamDeliversToSubscribers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts clusters and plugin processes")
	}
	dir := agentDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := RunStream(ctx, StreamConfig{
		Dispatch: DispatchConfig{
			Dir: t.TempDir(), PluginDir: dir, WorkOrders: 100, Clients: 8, Capacity: 4, Window: 50,
			Logger: hclog.NewNullLogger(),
		},
		Subscribers: 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Plain.Completed != 100 || res.Subscribed.Completed != 100 || res.Connected != 10 {
		t.Fatalf("result %+v", res)
	}
	// Each subscriber sees at least a created and a completed event per
	// work order.
	if res.Delivered < 10*200 || res.DeliveredPerSec() <= 0 {
		t.Fatalf("delivered %d events (%.0f/s)", res.Delivered, res.DeliveredPerSec())
	}
	t.Logf("%.0f vs %.0f completed/s (slowdown %.1f %%), %.0f events/s delivered, %d cutoffs",
		res.Plain.PerSec(), res.Subscribed.PerSec(), 100*res.Slowdown(), res.DeliveredPerSec(), res.Cutoffs)
}

// chunkReader returns its data in reads of the given sizes, in turn.
type chunkReader struct {
	data  []byte
	sizes []int
	i     int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(r.data), r.sizes[r.i%len(r.sizes)])
	r.i++
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// TestSSECounterExact counts the events of SSE streams read in pieces
// of every size, split anywhere: the counts, the last ID and the cutoff
// are exact.
func TestSSECounterExact(t *testing.T) {
	var b strings.Builder
	b.WriteString("retry: 2000\n: hive event stream\n\n")
	events, lastID := 0, ""
	for i := range 300 {
		if i%3 == 2 {
			lastID = fmt.Sprint(i, ".", i/2)
			fmt.Fprintf(&b, "id: %s\n", lastID)
		}
		fmt.Fprintf(&b, "event: workorder.created\ndata: {\"index\":%d,\"topic\":\"workorder\",\"reason\":\"data: id: \\\"type\\\":\\\"cutoff\\\"\"}\n\n", i)
		events++
		if i%50 == 0 {
			fmt.Fprintf(&b, ": heartbeat %d\n\n", i)
		}
	}
	plain := b.String()
	slow := plain + "event: cutoff\ndata: {\"index\":0,\"topic\":\"stream\",\"type\":\"cutoff\",\"code\":\"slow_consumer\",\"reason\":\"behind\",\"resume\":\"" + lastID + "\"}\n\n"
	shutdown := plain + "event: cutoff\ndata: {\"index\":0,\"topic\":\"stream\",\"type\":\"cutoff\",\"code\":\"shutdown\"}\n\n"
	for _, tc := range []struct {
		name           string
		stream         string
		events         int
		cutoffs, slows uint64
	}{
		{"plain", plain, events, 0, 0},
		{"slow consumer", slow, events + 1, 1, 1},
		{"shutdown", shutdown, events + 1, 1, 0},
	} {
		for _, sizes := range [][]int{{1}, {2, 3}, {7, 1, 13}, {64}, {1000, 1}, {1 << 20}} {
			for _, bufSize := range []int{16, 4096} {
				c := newSSECounter(bufSize)
				if err := c.readFrom(&chunkReader{data: []byte(tc.stream), sizes: sizes}); err != nil {
					t.Fatal(err)
				}
				if c.events != uint64(tc.events) || c.last != lastID || c.cutoffs != tc.cutoffs || c.slow != tc.slows {
					t.Errorf("%s, reads %v, buffer %d: %d events, last %q, %d cutoffs (%d slow); want %d, %q, %d (%d)",
						tc.name, sizes, bufSize, c.events, c.last, c.cutoffs, c.slow, tc.events, lastID, tc.cutoffs, tc.slows)
				}
			}
		}
	}
}
