package cluster

import (
	"fmt"
	"regexp"
	"time"
)

// Scheduler plans which queued work orders start where. It holds a
// validated, compiled Config and nothing else: it is immutable, safe for
// concurrent use, and keeps no state between plans, so a new leader builds
// one from the replicated config and gets the same decisions.
type Scheduler struct {
	cfg   Config
	rules []*regexp.Regexp // compiled cfg.Delegation patterns, same order
}

// NewScheduler validates cfg (see Config.Validate), compiles its
// delegation patterns and returns a Scheduler that uses a private copy of
// it. Errors wrap ErrInvalidConfig.
func NewScheduler(cfg Config) (*Scheduler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Scheduler{cfg: cfg.Clone()}
	s.cfg.Strategy = s.cfg.Strategy.orElseDefault()
	for i, r := range s.cfg.Delegation {
		re, err := r.compile()
		if err != nil { // unreachable after Validate; kept for safety
			return nil, fmt.Errorf("%w: delegation[%d]: %w", ErrInvalidConfig, i, err)
		}
		s.rules = append(s.rules, re)
	}
	return s, nil
}

// Config returns a copy of the scheduler's config.
func (s *Scheduler) Config() Config { return s.cfg.Clone() }

// Delegate returns the agent type of the first delegation rule whose
// pattern matches title or description, and the rule's index; ok is false
// when none matches.
func (s *Scheduler) Delegate(title, description string) (agentType string, rule int, ok bool) {
	for i, re := range s.rules {
		if re.MatchString(title) || re.MatchString(description) {
			return s.cfg.Delegation[i].AgentType, i, true
		}
	}
	return "", -1, false
}

// Schedule is NewScheduler(cfg) followed by Plan, for callers that plan
// once per config. A leader that plans repeatedly should keep the
// Scheduler and rebuild it only when the config changes.
func Schedule(now time.Time, candidates []Candidate, nodes []NodeInfo, running Running, cfg Config) (Plan, error) {
	s, err := NewScheduler(cfg)
	if err != nil {
		return Plan{}, err
	}
	return s.Plan(now, candidates, nodes, running), nil
}

// Plan is the outcome of one scheduling pass: what to start, where, and
// why everything else waits. Every distinct candidate ID given to
// Scheduler.Plan appears exactly once, in Assignments or in Deferred.
type Plan struct {
	// Requested is the configured strategy; Strategy is the one used,
	// which differs only for StrategyAdaptive.
	Requested Strategy `json:"requested"`
	Strategy  Strategy `json:"strategy"`
	// StrategyReason says why Strategy was used.
	StrategyReason string `json:"strategy_reason"`
	// Assignments are the work orders to start, in the order to start
	// them.
	Assignments []Assignment `json:"assignments"`
	// Deferred maps each candidate that is not started to the first
	// constraint that held it back.
	Deferred map[string]Reason `json:"deferred"`
}

// Assignment starts one work order on a node's agent.
type Assignment struct {
	ID        string `json:"id"`
	Node      string `json:"node"`
	AgentType string `json:"agent_type"`
	// Reason explains the choice for people (hive wo explain): the
	// strategy and rank, delegation if any, and why this node.
	Reason string `json:"reason"`
}

// ReasonCode is the stable, machine-readable cause of a deferral.
type ReasonCode string

// The deferral causes, in the order Plan checks them.
const (
	// ReasonInvalidCandidate: the candidate has no ID, or its ID was given
	// more than once (the plan cannot tell which copy is right).
	ReasonInvalidCandidate ReasonCode = "invalid_candidate"
	// ReasonNoAgentType: the candidate names no agent type and no
	// delegation rule matches its title or description.
	ReasonNoAgentType ReasonCode = "no_agent_type"
	// ReasonNoNodeForType: no healthy node offers the agent type.
	ReasonNoNodeForType ReasonCode = "no_node_for_type"
	// ReasonWIPLimit: its stage or bucket is at its WIP limit, counting
	// running work and the assignments this plan made before it.
	ReasonWIPLimit ReasonCode = "wip_limit"
	// ReasonNoCapacity: every slot of its agent type on healthy nodes is
	// taken.
	ReasonNoCapacity ReasonCode = "no_capacity"
	// ReasonLevelingQuota: slots of its type were short, its bucket had
	// used its share of them under the leveling mix, and no slot was left
	// over once every bucket had been served.
	ReasonLevelingQuota ReasonCode = "leveling_quota"
)

// Reason is why a candidate was deferred. Only the fields that apply to
// Code are set.
type Reason struct {
	Code      ReasonCode `json:"code"`
	Stage     string     `json:"stage,omitempty"`      // wip_limit on a stage
	Bucket    string     `json:"bucket,omitempty"`     // wip_limit on a bucket; leveling_quota
	AgentType string     `json:"agent_type,omitempty"` // no_node_for_type, no_capacity, leveling_quota
	// Limit is the WIP limit (wip_limit) or the bucket's share of the free
	// slots (leveling_quota).
	Limit int `json:"limit"`
	// Count is what was in flight against the limit (wip_limit) or the
	// free slots the shares divided (leveling_quota).
	Count  int    `json:"count"`
	Detail string `json:"detail,omitempty"` // invalid_candidate
}

// String renders r for people, e.g.
// `wip_limit: stage "code" has 5 in flight (limit 5)`.
func (r Reason) String() string {
	switch r.Code {
	case ReasonWIPLimit:
		if r.Stage != "" {
			return fmt.Sprintf("%s: stage %q has %d in flight (limit %d)", r.Code, r.Stage, r.Count, r.Limit)
		}
		return fmt.Sprintf("%s: bucket %q has %d in flight (limit %d)", r.Code, r.Bucket, r.Count, r.Limit)
	case ReasonNoCapacity:
		return fmt.Sprintf("%s: no free %q slot on any healthy node", r.Code, r.AgentType)
	case ReasonNoNodeForType:
		return fmt.Sprintf("%s: no healthy node offers agent type %q", r.Code, r.AgentType)
	case ReasonLevelingQuota:
		return fmt.Sprintf("%s: bucket %q used its share (%d of %d free %q slots) and none was left over",
			r.Code, r.Bucket, r.Limit, r.Count, r.AgentType)
	case ReasonNoAgentType:
		return fmt.Sprintf("%s: no agent type given and no delegation rule matches", r.Code)
	case ReasonInvalidCandidate:
		return fmt.Sprintf("%s: %s", r.Code, r.Detail)
	}
	return string(r.Code)
}
