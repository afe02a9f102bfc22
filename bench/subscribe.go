package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// SubscribeConfig configures RunSubscribe.
type SubscribeConfig struct {
	// Addresses are the base URLs of the nodes to follow (see
	// NormalizeAddress); the subscribers are spread over them.
	Addresses []string
	// Subscribers is how many SSE streams to hold open; default 100.
	Subscribers int
	// Duration bounds the run; zero runs until ctx ends.
	Duration time.Duration
}

// SubscribeResult is what RunSubscribe's subscribers received.
type SubscribeResult struct {
	Subscribers int           `json:"subscribers"`
	Elapsed     time.Duration `json:"elapsed_ns"`
	SubscriberCounts
}

// DeliveredPerSec is the events per second all subscribers received.
func (r *SubscribeResult) DeliveredPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Delivered) / r.Elapsed.Seconds()
}

// RunSubscribe holds cfg.Subscribers SSE streams of GET /v1/events open
// on the nodes at cfg.Addresses, as that many dashboards would, each
// resuming after its last event when a node cuts it off, until
// cfg.Duration has passed or ctx ends, and counts the events they
// received. It loads a real swarm's event stream from outside: run it on
// another machine while the swarm works, and read the cost on the nodes'
// metrics. A node that does not answer GET /v1/status is an error, before
// any stream opens.
func RunSubscribe(ctx context.Context, cfg SubscribeConfig) (*SubscribeResult, error) {
	if len(cfg.Addresses) == 0 {
		return nil, errors.New("bench: subscribe needs at least one address")
	}
	if cfg.Subscribers <= 0 {
		cfg.Subscribers = 100
	}
	for _, base := range cfg.Addresses {
		if err := checkNode(ctx, base); err != nil {
			return nil, err
		}
	}
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	return followAll(ctx, cfg, newSubscribers(cfg.Subscribers, len(cfg.Addresses))), nil
}

// followAll runs RunSubscribe's subscribers s until ctx ends.
func followAll(ctx context.Context, cfg SubscribeConfig, s *subscribers) *SubscribeResult {
	start := time.Now()
	for i, base := range cfg.Addresses {
		s.startOn(base, s.share(i))
	}
	<-ctx.Done()
	s.close()
	return &SubscribeResult{Subscribers: cfg.Subscribers, Elapsed: time.Since(start), SubscriberCounts: s.counts()}
}

// checkNode reports an error unless the node at base answers GET
// /v1/status with 200.
func checkNode(ctx context.Context, base string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/status?stale", nil)
	if err != nil {
		return fmt.Errorf("bench: %s: %w", base, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("bench: no Hive node answers at %s: %w", base, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bench: %s answers GET /v1/status with %s", base, resp.Status)
	}
	return nil
}
