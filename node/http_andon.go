package node

import (
	"net/http"
	"slices"
	"strings"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/fsm"
)

// The Andon cord over HTTP: POST /v1/andon pulls it, GET lists the
// andons and the stopped lines, PATCH edits the 5 whys and the root
// cause, POST .../resolve resumes the line. The state machine does the
// work (fsm/andon.go); these handlers decode, check and convert.

// triggerAndon handles POST /v1/andon.
func (s *httpServer) triggerAndon(w http.ResponseWriter, r *http.Request) {
	var req api.TriggerAndonRequest
	body, id, ok := s.decodeWrite(w, r, &req, func() string { return req.RequestID })
	if !ok {
		return
	}
	cmd, err := andonTriggerCommand(&req, s.header(id))
	if err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	if res := s.propose(w, r, body, cmd); res != nil {
		writeAndonResult(w, res, http.StatusCreated)
	}
}

// updateAndon handles PATCH /v1/andon/{id}.
func (s *httpServer) updateAndon(w http.ResponseWriter, r *http.Request) {
	var req api.UpdateAndonRequest
	body, id, ok := s.decodeWrite(w, r, &req, func() string { return req.RequestID })
	if !ok {
		return
	}
	aid, err := andonIDParam(r)
	if err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	if len(req.Whys) == 0 && strings.TrimSpace(req.RootCause) == "" {
		writeAPIError(w, invalidArg("whys, root_cause: nothing to update (give non-empty whys or a root_cause)"))
		return
	}
	cmd := &fsm.AndonUpdate{Header: s.header(id), ID: aid, Whys: slices.Clone(req.Whys), RootCause: req.RootCause}
	if res := s.propose(w, r, body, cmd); res != nil {
		writeAndonResult(w, res, http.StatusOK)
	}
}

// resolveAndon handles POST /v1/andon/{id}/resolve.
func (s *httpServer) resolveAndon(w http.ResponseWriter, r *http.Request) {
	var req api.ResolveAndonRequest
	body, id, ok := s.decodeWrite(w, r, &req, func() string { return req.RequestID })
	if !ok {
		return
	}
	aid, err := andonIDParam(r)
	if err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	if strings.TrimSpace(req.Resolution) == "" {
		writeAPIError(w, invalidArg("resolution: required (what was done about the root cause)"))
		return
	}
	cmd := &fsm.AndonResolve{Header: s.header(id), ID: aid, Resolution: req.Resolution}
	if res := s.propose(w, r, body, cmd); res != nil {
		writeAndonResult(w, res, http.StatusOK)
	}
}

// decodeWrite refuses any query parameter, then reads the write as
// readWrite does (a body is required). It has answered when ok is false.
func (s *httpServer) decodeWrite(w http.ResponseWriter, r *http.Request, dst any, key func() string) (body []byte, id string, ok bool) {
	if err := checkQuery(r.URL.Query()); err != nil {
		writeAPIError(w, toAPIError(err))
		return nil, "", false
	}
	return readWrite(w, r, dst, false, key)
}

// andonIDParam returns the {id} of an andon route, refusing a malformed
// one with 400.
func andonIDParam(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if _, ok := fsm.ParseAndonID(id); !ok {
		return "", invalidArg("id: %q is not an andon ID such as AN-1", id)
	}
	return id, nil
}

// andonTriggerCommand builds the command for POST /v1/andon.
func andonTriggerCommand(req *api.TriggerAndonRequest, h fsm.Header) (*fsm.AndonTrigger, error) {
	switch {
	case req.WorkOrder == "":
		return nil, invalidArg("work_order: required")
	case req.Class == "":
		return nil, invalidArg("class: required (a failure class such as agent_failure or manual)")
	case req.Scope != "" && req.Scope != api.AndonScopeBucket && req.Scope != api.AndonScopePipeline:
		return nil, invalidArg("scope: unknown scope %q (want bucket or pipeline)", req.Scope)
	}
	return &fsm.AndonTrigger{
		Header: h, WorkOrder: req.WorkOrder, Scope: fsm.AndonScope(req.Scope), Class: req.Class,
		Reason: req.Reason, Whys: slices.Clone(req.Whys), FixKind: req.FixType,
	}, nil
}

// writeAndonResult answers an andon write with the andon.
func writeAndonResult(w http.ResponseWriter, res *fsm.Result, status int) {
	if res.Andon == nil {
		writeError(w, http.StatusInternalServerError, "internal", "the state machine returned no andon")
		return
	}
	writeJSON(w, status, andonToAPI(res.Andon))
}

// listAndons handles GET /v1/andon.
func (s *httpServer) listAndons(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := checkQuery(q, "state", "stale"); err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	state := q.Get("state")
	switch state {
	case "":
		state = api.AndonOpen
	case api.AndonOpen, api.AndonResolved, api.AndonAll:
	default:
		writeAPIError(w, invalidArg("state: unknown andon state %q (open, resolved, all)", state))
		return
	}
	v := s.view(w, r)
	if v == nil {
		return
	}
	out := &api.AndonList{Andons: []*api.Andon{}, StoppedLines: []*api.StoppedLine{}, Index: v.Index()}
	for _, a := range v.Andons(state == api.AndonOpen) {
		if state == api.AndonAll || string(a.State) == state {
			out.Andons = append(out.Andons, andonToAPI(a))
		}
	}
	for _, l := range v.StoppedLines() {
		out.StoppedLines = append(out.StoppedLines, &api.StoppedLine{
			Scope: string(l.Scope), Line: l.Line, Name: l.Name(), Andons: slices.Clone(l.Andons),
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// getAndon handles GET /v1/andon/{id}.
func (s *httpServer) getAndon(w http.ResponseWriter, r *http.Request) {
	v := s.readView(w, r)
	if v == nil {
		return
	}
	a, err := v.Andon(r.PathValue("id"))
	if err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	writeJSON(w, http.StatusOK, andonToAPI(a))
}

// andonToAPI converts an andon for the API.
func andonToAPI(a *fsm.Andon) *api.Andon {
	return &api.Andon{
		ID: a.ID, WorkOrder: a.WorkOrder, Scope: string(a.Scope), Line: a.Line, LineName: a.LineName(),
		Class: a.Class, Reason: a.Reason, Whys: slices.Clone(a.Whys), RootCause: a.RootCause,
		Resolution: a.Resolution, FixWorkOrder: a.FixWorkOrder, Quarantined: a.Quarantined,
		State: string(a.State), Node: a.Node, TriggeredAt: nanosToTime(a.TriggeredAt),
		UpdatedAt: nanosToTime(a.UpdatedAt), ResolvedAt: nanosToTimePtr(a.ResolvedAt),
		CreateIndex: a.CreateIndex, ModifyIndex: a.ModifyIndex,
	}
}
