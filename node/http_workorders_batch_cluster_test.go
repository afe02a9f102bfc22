package node_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/node/nodetest"
)

// TestBatchCreateThroughFollower sends batch creates with the api client
// to a follower of a real three-node cluster: a batch larger than
// ProposeBatchMax commits as one raft entry, a retried batch creates
// nothing twice, and a refused item comes back in its slot.
func TestBatchCreateThroughFollower(t *testing.T) {
	c := nodetest.NewCluster(t, 3)
	li := c.WaitForLeader()
	fi := (li + 1) % 3
	follower := c.Node(fi)
	if follower.IsLeader() {
		t.Fatal("picked the leader")
	}
	cfg := api.DefaultConfig()
	cfg.Address = "http://" + follower.HTTPAddr()
	cfg.Timeout = 30 * time.Second
	cl, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cfg.HTTPClient.CloseIdleConnections)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	const n = 600 // more than ProposeBatchMax (512)
	reqs := make([]*api.CreateWorkOrderRequest, n)
	for i := range reqs {
		reqs[i] = &api.CreateWorkOrderRequest{Title: fmt.Sprintf("batch %d", i), Type: "test",
			Labels: []string{"batch"}, Description: strings.Repeat("d", 100)}
	}
	reqs[7].DependsOn = []string{"WO-9999"} // refused when applied
	opts := &api.BatchOptions{IdempotencyKey: "cluster-batch"}
	items, err := cl.WorkOrders().CreateBatch(ctx, reqs, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != n {
		t.Fatalf("%d items", len(items))
	}
	var index uint64
	ids := map[string]bool{}
	for i, it := range items {
		if i == 7 {
			if it.Err() == nil || api.ErrorCode(it.Err()) != api.CodeNotFound {
				t.Fatalf("item 7: %+v", it)
			}
			continue
		}
		if it.Err() != nil || it.Title != reqs[i].Title {
			t.Fatalf("item %d: %+v, err %v", i, it.WorkOrder, it.Err())
		}
		if index == 0 {
			index = it.CreateIndex
		}
		if it.CreateIndex != index {
			t.Fatalf("item %d created at index %d, item 0 at %d: not one raft entry", i, it.CreateIndex, index)
		}
		ids[it.ID] = true
	}
	if len(ids) != n-1 {
		t.Fatalf("%d distinct IDs", len(ids))
	}

	// The same batch again, through another node: the first outcome.
	ocfg := api.DefaultConfig()
	ocfg.Address = "http://" + c.Node(li).HTTPAddr()
	other, err := api.NewClient(ocfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ocfg.HTTPClient.CloseIdleConnections)
	again, err := other.WorkOrders().CreateBatch(ctx, reqs, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range again {
		if (again[i].Err() == nil) != (items[i].Err() == nil) || items[i].WorkOrder != nil && again[i].ID != items[i].ID {
			t.Fatalf("retried item %d: %+v, first %+v", i, again[i], items[i])
		}
	}
	all, err := cl.WorkOrders().ListAll(ctx, &api.ListOptions{Label: "batch"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != n-1 {
		t.Fatalf("%d work orders after a retried batch, want %d", len(all), n-1)
	}

	// A bad item refuses the whole batch, naming it.
	bad := []*api.CreateWorkOrderRequest{{Title: "fine"}, {Title: "fine"}, {Title: "x", Priority: "urgent"}}
	_, err = cl.WorkOrders().CreateBatch(ctx, bad, nil)
	if api.ErrorCode(err) != api.CodeInvalidArgument || !strings.Contains(err.Error(), "workorders[2]") {
		t.Fatalf("bad batch: %v", err)
	}
	if _, err := cl.WorkOrders().CreateBatch(ctx, nil, nil); err == nil {
		t.Fatal("an empty batch was sent")
	}
}
