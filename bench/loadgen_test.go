package bench

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

type kindErr string

func (e kindErr) Error() string { return "failed: " + string(e) }
func (e kindErr) Kind() string  { return string(e) }

func TestRunCountsRequests(t *testing.T) {
	var calls atomic.Int64
	res, err := Run(context.Background(), Options{Clients: 8, Requests: 1000}, func(context.Context, int) error {
		n := calls.Add(1)
		if n%10 == 0 {
			return kindErr("boom")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1000 {
		t.Fatalf("op called %d times, want 1000", calls.Load())
	}
	if res.Ops != 900 || res.Errors != 100 || res.ErrorKinds["boom"] != 100 || len(res.ErrorKinds) != 1 {
		t.Fatalf("ops/errors/kinds = %d/%d/%v, want 900/100/map[boom:100]", res.Ops, res.Errors, res.ErrorKinds)
	}
	if res.Latency.Count() != res.Ops {
		t.Fatalf("histogram has %d samples, want %d", res.Latency.Count(), res.Ops)
	}
	if got := res.ErrorRate(); got != 0.1 {
		t.Fatalf("error rate = %v, want 0.1", got)
	}
	if res.Elapsed <= 0 || res.OpsPerSec() <= 0 {
		t.Fatalf("elapsed %v, ops/s %v: want positive", res.Elapsed, res.OpsPerSec())
	}
}

func TestRunWorkersAreConcurrent(t *testing.T) {
	// Every worker blocks until all of them are in an operation at once,
	// which only a truly concurrent generator gets past.
	const clients = 16
	var inFlight atomic.Int64
	all := make(chan struct{})
	res, err := Run(context.Background(), Options{Clients: clients, Requests: clients}, func(ctx context.Context, w int) error {
		if w < 0 || w >= clients {
			t.Errorf("worker index %d out of range", w)
		}
		if inFlight.Add(1) == clients {
			close(all)
		}
		select {
		case <-all:
			return nil
		case <-time.After(10 * time.Second):
			return errors.New("workers did not run concurrently")
		}
	})
	if err != nil || res.Ops != clients {
		t.Fatalf("ops = %d, err = %v, errors %v", res.Ops, err, res.ErrorKinds)
	}
}

func TestRunDurationAndWarmup(t *testing.T) {
	var warm, measured atomic.Int64
	start := time.Now()
	const warmup = 30 * time.Millisecond
	res, err := Run(context.Background(), Options{Clients: 2, Duration: 50 * time.Millisecond, Warmup: warmup},
		func(context.Context, int) error {
			if time.Since(start) < warmup {
				warm.Add(1)
			} else {
				measured.Add(1)
			}
			time.Sleep(time.Millisecond) // stands in for the work of an operation
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if warm.Load() == 0 || res.Ops == 0 {
		t.Fatalf("warm-up ops %d, measured ops %d: want both > 0", warm.Load(), res.Ops)
	}
	if res.Ops > uint64(measured.Load()) {
		t.Fatalf("measured %d ops but only %d started after the warm-up", res.Ops, measured.Load())
	}
	if res.Elapsed < 50*time.Millisecond {
		t.Fatalf("elapsed %v shorter than the duration", res.Elapsed)
	}
}

func TestRunCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int64
	res, err := Run(ctx, Options{Clients: 4, Duration: time.Hour}, func(ctx context.Context, _ int) error {
		if calls.Add(1) == 100 {
			cancel()
		}
		return ctx.Err()
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if res.Errors != 0 {
		t.Fatalf("aborted operations counted as %d errors", res.Errors)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []Options{{}, {Clients: 1}, {Clients: 0, Requests: 1}, {Clients: 1, Requests: -1}} {
		if _, err := Run(context.Background(), o, nil); err == nil {
			t.Errorf("Run(%+v) accepted", o)
		}
	}
}
