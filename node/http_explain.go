package node

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/fsm"
)

// reasonExplainer is implemented by a backend that knows why a work order
// is not running beyond what the replicated state says: the leader's
// control loop (no healthy node offers the agent type, an open circuit
// breaker, a leveling quota). GET /v1/workorders/{id}/explain appends what
// it returns to the state machine's reasons. A backend without it answers
// with the state machine's reasons alone.
type reasonExplainer interface {
	// ExplainReasons returns the extra reasons for e (the state machine's
	// explanation, read from v), in the order to show them; nil for none.
	// It must not modify e or keep v.
	ExplainReasons(ctx context.Context, v *fsm.View, e *fsm.Explanation) []fsm.Reason
}

// explainWorkOrder handles GET /v1/workorders/{id}/explain. Backoffs are
// judged at this node's clock, as the control loop judges them.
func (s *httpServer) explainWorkOrder(w http.ResponseWriter, r *http.Request) {
	v := s.readView(w, r)
	if v == nil {
		return
	}
	e, err := v.ExplainAt(r.PathValue("id"), time.Now().UnixNano())
	if err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	reasons := e.Reasons
	if x, ok := s.b.(reasonExplainer); ok {
		if extra := x.ExplainReasons(r.Context(), v, e); len(extra) > 0 {
			reasons = append(slices.Clip(reasons), extra...)
		}
	}
	out := &api.Explanation{ID: e.ID, State: string(e.State), Attempt: e.Attempt, Reasons: make([]*api.Reason, 0, len(reasons)), Index: v.Index()}
	for _, rs := range reasons {
		out.Reasons = append(out.Reasons, &api.Reason{
			Code: string(rs.Code), Message: rs.Message, Refs: slices.Clone(rs.Refs),
			Until: nanosToTimePtr(rs.Until), Count: rs.Count, Limit: rs.Limit,
		})
	}
	writeJSON(w, http.StatusOK, out)
}
