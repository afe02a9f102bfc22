package bench

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/hive-swarm/hive/api"
)

// failoverAPIAttempts is how many times the API client tries the write
// after a kill: the default client's backoff (api.DefaultConfig's
// RetryWait), with more attempts than its default 6 so that a slow
// failover is measured rather than given up on.
const failoverAPIAttempts = 12

// apiWriteAfter creates a work order through the HTTP API of the node at
// addr (a survivor) with a default-configured client, as a user's write
// issued at the kill would be: it retries while there is no leader and
// follows the node's forwarding to whichever leader it finds. It returns
// the time from killed to the answer. The client keeps one idempotency
// key across its retries. The work order names no agent type, so nothing
// runs it.
func apiWriteAfter(ctx context.Context, addr string, killed time.Time, name string) (time.Duration, error) {
	cfg := api.DefaultConfig()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections() // no keep-alive goroutines left behind
	cfg.HTTPClient = &http.Client{Transport: tr}
	cfg.Address = "http://" + addr
	cfg.MaxAttempts = failoverAPIAttempts
	cfg.Timeout = 30 * time.Second
	cl, err := api.NewClient(cfg)
	if err != nil {
		return 0, fmt.Errorf("bench: api client: %w", err)
	}
	if _, err := cl.WorkOrders().Create(ctx, &api.CreateWorkOrderRequest{Title: "failover probe " + name}); err != nil {
		return 0, fmt.Errorf("bench: write through the API after the kill: %w", err)
	}
	return time.Since(killed), nil
}
