package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/node/nodetest"
)

// TestSubscribeCountsLiveEvents holds three subscribers on a real node,
// commits five work orders, and checks that each subscriber received
// exactly their five events (one per receipt) and nothing was cut off.
func TestSubscribeCountsLiveEvents(t *testing.T) {
	c := nodetest.NewCluster(t, 1)
	c.WaitForLeader()
	n := c.Node(0)
	base := "http://" + n.HTTPAddr()
	cl, err := api.NewClient(&api.Config{Address: base})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	cfg := SubscribeConfig{Addresses: []string{base}, Subscribers: 3}
	s := newSubscribers(cfg.Subscribers, 1)
	done := make(chan *SubscribeResult, 1)
	go func() { done <- followAll(runCtx, cfg, s) }()
	waitFor(t, time.Minute, func() error {
		if got := s.connected.Load(); got != 3 {
			return fmt.Errorf("%d streams open", got)
		}
		return nil
	})
	for i := range 5 {
		if _, err := cl.WorkOrders().Create(ctx, &api.CreateWorkOrderRequest{Title: fmt.Sprint("s", i)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, time.Minute, func() error {
		if got := s.delivered.Load(); got < 15 {
			return fmt.Errorf("%d received", got)
		}
		return nil
	})
	stop()
	res := <-done
	if res.Delivered != 15 || res.Connected != 3 || res.Cutoffs != 0 || res.Reconnects != 0 || res.DeliveredPerSec() <= 0 {
		t.Fatalf("result %+v", res)
	}
}

// TestSubscribeRefusesDeadAddress checks that an address with no node
// behind it is an error before any stream opens.
func TestSubscribeRefusesDeadAddress(t *testing.T) {
	_, err := RunSubscribe(context.Background(), SubscribeConfig{Addresses: []string{"http://127.0.0.1:1"}, Duration: time.Second})
	if err == nil {
		t.Fatal("no error for an address with no node")
	}
}
