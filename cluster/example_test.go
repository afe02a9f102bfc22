package cluster_test

import (
	"fmt"
	"time"

	"github.com/hive-swarm/hive/cluster"
)

func ExampleScheduler_Plan() {
	cfg := cluster.DefaultConfig()
	cfg.Delegation = []cluster.DelegationRule{{Pattern: `(?i)\bfix\b`, AgentType: "coder"}}
	s, err := cluster.NewScheduler(cfg)
	if err != nil {
		panic(err)
	}
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	candidates := []cluster.Candidate{
		{ID: "WO-1", Seq: 1, AgentType: "shell", Bucket: "features", Priority: 1},
		{ID: "WO-2", Seq: 2, Title: "Fix login", Bucket: "security", Priority: 4},
		{ID: "WO-3", Seq: 3, AgentType: "gpu", Bucket: "cost", Priority: 2},
	}
	nodes := []cluster.NodeInfo{
		{Name: "n1", Healthy: true, Slots: map[string]cluster.Slot{"shell": {Capacity: 2}, "coder": {Capacity: 1}}},
	}
	plan := s.Plan(now, candidates, nodes, cluster.Running{})
	for _, a := range plan.Assignments {
		fmt.Printf("start %s on %s/%s\n", a.ID, a.Node, a.AgentType)
	}
	fmt.Println("WO-3:", plan.Deferred["WO-3"])
	// Output:
	// start WO-2 on n1/coder
	// start WO-1 on n1/shell
	// WO-3: no_node_for_type: no healthy node offers agent type "gpu"
}
