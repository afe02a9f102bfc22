package node

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/hive-swarm/hive/api"
)

type refuseTransport struct{}

func (refuseTransport) RoundTrip(*http.Request) (*http.Response, error) { return nil, errNoForward }

// TestExecForwarderFallbackError checks that the forwarder's refusal
// reaches reportOnce through the API client, so that a report no leader
// can take goes through this node's HTTP API instead.
func TestExecForwarderFallbackError(t *testing.T) {
	c, err := api.NewClient(&api.Config{Address: "http://127.0.0.1:1", HTTPClient: &http.Client{Transport: refuseTransport{}}, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.WorkOrders().Transition(context.Background(), "wo-1", "complete", &api.TransitionRequest{Attempt: 1})
	if !errors.Is(err, errNoForward) {
		t.Fatalf("error %v, want errNoForward", err)
	}
}
