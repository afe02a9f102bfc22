// Package cluster holds the decisions of the leader's control loop: which
// queued work order starts on which node, and why the others wait.
//
// Its decisions are pure logic. They do not touch raft, the network or a
// clock: the leader passes in the queued candidates, the nodes as
// gossip sees them, the work in flight, the time and the replicated
// Config, and gets back a Plan. The same inputs give the same Plan on
// every node, whatever order they are listed in, so a new leader picks up
// where the old one stopped without any state of its own.
//
// A Scheduler is built from a Config with NewScheduler (which validates it
// and compiles its delegation patterns) and is immutable. Scheduler.Plan
// orders the candidates by a Strategy (priority, fifo, deadline, sjf,
// critical_path, resource_aware or adaptive), then starts them in that
// order while it respects, in turn:
//
//   - auto-delegation: a candidate without an agent type gets the type of
//     the first DelegationRule whose pattern matches its title or
//     description;
//   - WIP limits per stage and per bucket, cluster-wide, counting running
//     work and the plan's own assignments;
//   - per-node, per-agent-type capacity on healthy nodes;
//   - heijunka leveling: when an agent type's free slots are fewer than
//     the work waiting for them, they are shared among buckets by the
//     configured mix, and whatever a share leaves unused goes to the rest,
//     so capacity is never idle while work that fits waits.
//
// Each candidate that is not started gets a Reason (wip_limit,
// no_capacity, no_node_for_type, leveling_quota, no_agent_type,
// invalid_candidate) for `hive wo explain`.
//
// CriticalPaths computes the longest remaining chain of effort through the
// dependency DAG for the critical_path strategy. ConfigFromFSM,
// CandidateFromWorkOrder and RunningFromWorkOrders adapt the FSM's
// records; the package imports fsm read-only and nothing else of Hive.
//
// Loop is the control loop that drives those decisions on the leader: it
// reads the state and the nodes through small interfaces the node
// implements, plans on every commit, gossip change and timer tick, and
// proposes a pass's assignments as one batch. It keeps nothing that the
// FSM and gossip cannot rebuild, so it is simply restarted on a new leader.
package cluster
