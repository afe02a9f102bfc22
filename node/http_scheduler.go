package node

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/fsm"
)

// getScheduler handles GET /v1/scheduler.
func (s *httpServer) getScheduler(w http.ResponseWriter, r *http.Request) {
	v := s.readView(w, r)
	if v == nil {
		return
	}
	writeJSON(w, http.StatusOK, schedulerStatusOf(v))
}

// putScheduler returns the handler of PUT /v1/scheduler, which replaces
// the scheduler configuration.
//
// A request with check_digest is a check-and-set: it is refused with 409
// config_changed unless the configuration in force (read linearizably)
// still has that digest, or already is the requested one (a retry of a
// write that succeeded). The handler's lock makes check and commit one
// step for every write of this route on this node; only the leader
// commits (followers forward the request as it came), so two API writers
// cannot both pass the check. A change proposed by the node itself rather
// than through the API between check and commit would not be detected.
func (s *httpServer) putScheduler() http.HandlerFunc {
	var mu sync.Mutex
	return func(w http.ResponseWriter, r *http.Request) {
		var req api.SetSchedulerConfigRequest
		body, id, ok := s.decodeWrite(w, r, &req, func() string { return req.RequestID })
		if !ok {
			return
		}
		cfg, err := schedulerConfigFromAPI(&req.SchedulerConfig)
		if err != nil {
			writeAPIError(w, toAPIError(err))
			return
		}
		check, err := parseDigest("check_digest", req.CheckDigest)
		if err != nil {
			writeAPIError(w, toAPIError(err))
			return
		}
		cmd := &fsm.SetSchedulerConfig{Header: s.header(id), Config: cfg}

		mu.Lock()
		defer mu.Unlock()
		if check != "" && !s.checkSchedulerDigest(w, r, body, id, check, &cfg) {
			return
		}
		if res := s.propose(w, r, body, cmd); res == nil {
			return
		}
		// The write is applied here (only the leader commits), so the
		// local state holds it.
		v, err := s.b.View(r.Context(), true)
		if err != nil {
			writeAPIError(w, toAPIError(err))
			return
		}
		writeJSON(w, http.StatusOK, schedulerStatusOf(v))
	}
}

// checkSchedulerDigest reports whether a conditional write may go on: the
// configuration in force has digest want, or is cfg already. Otherwise it
// has written the answer (409 config_changed, or the forwarded one).
func (s *httpServer) checkSchedulerDigest(w http.ResponseWriter, r *http.Request, body []byte, id, want string, cfg *fsm.SchedulerConfig) bool {
	v, err := s.b.View(r.Context(), false)
	if errors.Is(err, ErrNotLeader) {
		s.forward(w, r, body, id)
		return false
	}
	if err != nil {
		s.setLeaderHeader(w)
		writeAPIError(w, toAPIError(err))
		return false
	}
	cur := v.SchedulerConfig()
	have := hashHex(fsm.SchedulerConfigDigest(&cur))
	if have == want || have == hashHex(fsm.SchedulerConfigDigest(cfg)) {
		return true
	}
	writeAPIError(w, &apiError{status: http.StatusConflict, code: api.CodeConfigChanged, message: fmt.Sprintf(
		"check_digest: the scheduler config changed since it was read (digest now %s, not %s); read it again and retry",
		have, want)})
	return false
}

// parseDigest checks an optional hex SHA-256 digest and lower-cases it.
func parseDigest(field, s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if len(s) != 64 || strings.Trim(strings.ToLower(s), "0123456789abcdef") != "" {
		return "", invalidArg("%s: want the 64 hex digits of a digest from GET /v1/scheduler, got %q", field, s)
	}
	return strings.ToLower(s), nil
}

// listPipelines handles GET /v1/pipelines.
func (s *httpServer) listPipelines(w http.ResponseWriter, r *http.Request) {
	v := s.readView(w, r)
	if v == nil {
		return
	}
	cfg := v.SchedulerConfig()
	out := &api.PipelineList{Pipelines: make([]*api.Pipeline, len(cfg.Pipelines)), Index: v.Index()}
	for i, p := range cfg.Pipelines {
		out.Pipelines[i] = pipelineToAPI(p)
	}
	writeJSON(w, http.StatusOK, out)
}

// getPipeline handles GET /v1/pipelines/{name}.
func (s *httpServer) getPipeline(w http.ResponseWriter, r *http.Request) {
	v := s.readView(w, r)
	if v == nil {
		return
	}
	cfg := v.SchedulerConfig()
	p, ok := cfg.Pipeline(r.PathValue("name"))
	if !ok {
		writeAPIError(w, toAPIError(unknownPipeline(cfg, r.PathValue("name"))))
		return
	}
	writeJSON(w, http.StatusOK, pipelineToAPI(p))
}

// unknownPipeline is the not_found error for name, listing the templates.
func unknownPipeline(cfg fsm.SchedulerConfig, name string) error {
	names := make([]string, len(cfg.Pipelines))
	for i, p := range cfg.Pipelines {
		names[i] = p.Name
	}
	return fsm.Errorf(fsm.ErrNotFound, "pipeline %q not found (have: %s)", name, strings.Join(names, ", "))
}

// runPipeline handles POST /v1/pipelines/{name}/runs.
func (s *httpServer) runPipeline(w http.ResponseWriter, r *http.Request) {
	var req api.RunPipelineRequest
	body, id, ok := s.decodeWrite(w, r, &req, func() string { return req.RequestID })
	if !ok {
		return
	}
	cmd, err := runPipelineCommand(r.PathValue("name"), &req, s.header(id))
	if err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	res := s.propose(w, r, body, cmd)
	if res == nil {
		return
	}
	if res.WorkOrder == nil {
		writeError(w, http.StatusInternalServerError, "internal", "the state machine returned no pipeline run")
		return
	}
	out := &api.PipelineRun{Pipeline: res.WorkOrder.Pipeline, Run: workOrderToAPI(res.WorkOrder)}
	// The stages as they are now, from the local state, which holds the
	// write (only the leader commits).
	v, err := s.b.View(r.Context(), true)
	if err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	for _, sid := range res.IDs {
		wo, err := v.WorkOrder(sid)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "internal",
				fmt.Sprintf("stage %s of run %s: %v", sid, res.WorkOrder.ID, err))
			return
		}
		out.Stages = append(out.Stages, workOrderToAPI(wo))
	}
	writeJSON(w, http.StatusCreated, out)
}
