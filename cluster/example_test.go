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

func ExampleExpand() {
	stages, err := cluster.Expand(cluster.DefaultPipeline(), cluster.ExpandRequest{Title: "Add rate limiting"})
	if err != nil {
		panic(err)
	}
	for i, w := range stages {
		fmt.Printf("%d %-30s agent=%-10s wip=%-6s after=%v\n", i, w.Title, w.AgentType, w.Stage, w.DependsOn)
	}
	// Output:
	// 0 Add rate limiting (research)   agent=researcher wip=design after=[]
	// 1 Add rate limiting (plan)       agent=planner    wip=design after=[0]
	// 2 Add rate limiting (implement)  agent=coder      wip=code   after=[1]
	// 3 Add rate limiting (test)       agent=tester     wip=test   after=[2]
	// 4 Add rate limiting (review)     agent=reviewer   wip=review after=[3]
}
