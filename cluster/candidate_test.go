package cluster

import (
	"maps"
	"reflect"
	"testing"
	"time"

	"github.com/hive-swarm/hive/fsm"
)

func TestCandidateFromWorkOrder(t *testing.T) {
	wo := &fsm.WorkOrder{
		ID: "WO-3", Seq: 3, Title: "t", Description: "d", Kind: "shell", Bucket: "security",
		Priority: fsm.PriorityCritical, Effort: 120, Stage: "code",
		DependsOn: []string{"WO-1"}, Dependents: []string{"WO-4", "WO-5"},
		State: fsm.StateQueued, CreatedAt: t0.UnixNano(), Deadline: t0.Add(24 * time.Hour).UnixNano(),
	}
	c := CandidateFromWorkOrder(wo)
	want := Candidate{
		ID: "WO-3", Title: "t", Description: "d", AgentType: "shell", Bucket: "security", Stage: "code",
		Priority: 4, Seq: 3, Created: t0, Deadline: t0.Add(24 * time.Hour), EffortSeconds: 120,
		DependsOn: []string{"WO-1"}, Dependents: []string{"WO-4", "WO-5"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("candidate %+v\nwant      %+v", c, want)
	}
	c.Dependents[0] = "changed"
	if wo.Dependents[0] != "WO-4" {
		t.Error("candidate aliases the work order's slices")
	}
	best := CandidateFromWorkOrder(&fsm.WorkOrder{ID: "WO-9"})
	if !best.Deadline.IsZero() || !best.Created.IsZero() {
		t.Errorf("zero times became %v / %v", best.Created, best.Deadline)
	}
}

func TestRunningFromWorkOrders(t *testing.T) {
	wos := []*fsm.WorkOrder{
		{ID: "WO-1", State: fsm.StateInProgress, Stage: "code", Bucket: "security", Kind: "shell", Assignee: fsm.Assignee{Node: "n1", Agent: "coder"}},
		{ID: "WO-2", State: fsm.StateInProgress, Stage: "code", Bucket: "cost", Kind: "shell", Assignee: fsm.Assignee{Node: "n1"}},
		{ID: "WO-3", State: fsm.StateReview, Stage: "test", Bucket: "cost", Kind: "shell", Assignee: fsm.Assignee{Node: "n2", Agent: "shell"}},
		{ID: "WO-4", State: fsm.StateTesting, Bucket: "cost"},
		{ID: "WO-5", State: fsm.StateQueued, Stage: "code", Bucket: "cost"},
		{ID: "WO-6", State: fsm.StateCompleted, Stage: "code", Bucket: "cost"},
		{ID: "WO-7", State: fsm.StateBlocked, Stage: "code", Bucket: "cost"},
		{ID: "WO-8", State: fsm.StateInProgress, Stage: "design", Bucket: "cost", Kind: "shell"}, // no node yet
	}
	r := RunningFromWorkOrders(wos)
	if want := map[string]int{"code": 2, "test": 1, "design": 1}; !maps.Equal(r.Stages, want) {
		t.Errorf("stages %v, want %v", r.Stages, want)
	}
	if want := map[string]int{"security": 1, "cost": 4}; !maps.Equal(r.Buckets, want) {
		t.Errorf("buckets %v, want %v", r.Buckets, want)
	}
	wantSlots := map[string]map[string]int{"n1": {"coder": 1, "shell": 1}}
	if !reflect.DeepEqual(r.Slots, wantSlots) {
		t.Errorf("slots %v, want %v", r.Slots, wantSlots)
	}
	wantPools := map[string]map[string]int{"coder": {"security": 1}, "shell": {"cost": 1}}
	if !reflect.DeepEqual(r.Pools, wantPools) {
		t.Errorf("pools %v, want %v", r.Pools, wantPools)
	}
}

// TestFromFSMEndToEnd wires the adapters the way the leader will.
func TestFromFSMEndToEnd(t *testing.T) {
	wos := []*fsm.WorkOrder{
		{ID: "WO-1", Seq: 1, Kind: "shell", Bucket: "features", Priority: fsm.PriorityLow, Effort: 60, State: fsm.StateQueued, Dependents: []string{"WO-3"}},
		{ID: "WO-2", Seq: 2, Kind: "shell", Bucket: "features", Priority: fsm.PriorityLow, Effort: 600, State: fsm.StateQueued},
		{ID: "WO-3", Seq: 3, Kind: "shell", Bucket: "features", Effort: 3600, State: fsm.StateBlocked, DependsOn: []string{"WO-1"}},
		{ID: "WO-4", Seq: 4, Kind: "shell", Bucket: "features", Stage: "code", State: fsm.StateInProgress, Assignee: fsm.Assignee{Node: "n1", Agent: "shell"}},
	}
	var all, queued []Candidate
	for _, wo := range wos {
		if wo.State.Terminal() {
			continue
		}
		all = append(all, CandidateFromWorkOrder(wo))
		if wo.State == fsm.StateQueued {
			queued = append(queued, all[len(all)-1])
		}
	}
	paths := CriticalPaths(all)
	for i := range queued {
		queued[i].CriticalPath = paths[queued[i].ID]
	}
	nodes := []NodeInfo{{Name: "n1", Healthy: true, Slots: map[string]Slot{"shell": {Capacity: 2}}}}
	cfg := DefaultConfig()
	cfg.Strategy = StrategyCriticalPath
	p, err := Schedule(t0, queued, nodes, RunningFromWorkOrders(wos), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// One slot is held by WO-4 (known to the FSM only); WO-1 heads a 3660s
	// chain and beats WO-2's 600s.
	if len(p.Assignments) != 1 || p.Assignments[0].ID != "WO-1" {
		t.Fatalf("plan %+v", p)
	}
	if p.Deferred["WO-2"].Code != ReasonNoCapacity {
		t.Errorf("WO-2: %v", p.Deferred["WO-2"])
	}
}
