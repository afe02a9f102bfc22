package node

import (
	"context"
	"net/http"
	"strconv"

	"github.com/hive-swarm/hive/api"
)

// joinResult is the body of a successful PUT /v1/agent/join.
type joinResult struct {
	Joined int `json:"joined"` // gossip addresses reached
}

// members handles GET /v1/members: this node's view of the swarm.
func (s *httpServer) members(w http.ResponseWriter, r *http.Request) {
	ms := s.b.Members()
	if ms == nil {
		ms = []*api.Member{}
	}
	s.setLeaderHeader(w)
	writeJSON(w, http.StatusOK, &api.MemberList{Members: ms})
}

// status handles GET /v1/status: this node's raft state, never forwarded.
func (s *httpServer) status(w http.ResponseWriter, r *http.Request) {
	st := s.b.Status()
	if st == nil {
		writeError(w, http.StatusServiceUnavailable, "no_leader", "node status is not available yet")
		return
	}
	s.setLeaderHeader(w)
	w.Header().Set(headerIndex, strconv.FormatUint(st.AppliedIndex, 10))
	writeJSON(w, http.StatusOK, st)
}

// agentJoin handles PUT /v1/agent/join?address=HOST:PORT (repeatable):
// this node joins those gossip addresses.
func (s *httpServer) agentJoin(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		if k != "address" {
			writeAPIError(w, invalidArg("%s: unknown query parameter (known: address)", k))
			return
		}
	}
	addrs := q["address"]
	if len(addrs) == 0 {
		writeAPIError(w, invalidArg("address: at least one HOST:PORT gossip address is required"))
		return
	}
	for _, a := range addrs {
		if a == "" {
			writeAPIError(w, invalidArg("address: empty address"))
			return
		}
	}
	n, err := s.b.Join(r.Context(), addrs)
	if err != nil && n == 0 {
		ae := toAPIError(err)
		if ae.code == "internal" {
			ae.message = "join failed: " + err.Error()
		}
		writeAPIError(w, ae)
		return
	}
	if err != nil {
		s.logger.Warn("join reached only some addresses", "joined", n, "addresses", addrs, "error", err)
	}
	writeJSON(w, http.StatusOK, &joinResult{Joined: n})
}

// agentLeave handles PUT /v1/agent/leave: it answers 200 at once, then
// leaves the swarm in a goroutine that stopHTTP waits for. A second
// request while a leave is under way is answered 200 too and starts
// nothing.
func (s *httpServer) agentLeave(w http.ResponseWriter, r *http.Request) {
	if err := checkQuery(r.URL.Query()); err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	s.leaving.Do(func() {
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			ctx, cancel := context.WithTimeout(context.WithValue(s.leaveCtx, leaveCtxKey{}, true), leaveTimeout)
			defer cancel()
			s.logger.Info("leaving the swarm (requested over HTTP)")
			if err := s.b.Leave(ctx); err != nil {
				s.logger.Error("leave failed", "error", err)
			}
		}()
	})
	writeJSON(w, http.StatusOK, struct{}{})
}
