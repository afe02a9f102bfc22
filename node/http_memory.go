package node

import (
	"net/http"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/fsm"
)

// memoryPut handles PUT /v1/memory/{namespace}/{key}.
func (s *httpServer) memoryPut(w http.ResponseWriter, r *http.Request) {
	var req api.MemoryPutRequest
	body, id, ok := readWrite(w, r, &req, false, func() string { return req.RequestID })
	if !ok {
		return
	}
	cmd, err := memoryPutCommand(r.PathValue("namespace"), r.PathValue("key"), &req, s.header(id))
	if err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	res := s.propose(w, r, body, cmd)
	if res == nil {
		return
	}
	if res.Memory == nil {
		writeError(w, http.StatusInternalServerError, "internal", "the state machine returned no memory entry")
		return
	}
	writeJSON(w, http.StatusOK, memoryToAPI(res.Memory))
}

// memoryGet handles GET /v1/memory/{namespace}/{key}.
func (s *httpServer) memoryGet(w http.ResponseWriter, r *http.Request) {
	ns, key := r.PathValue("namespace"), r.PathValue("key")
	if err := checkMemoryKey(ns, key); err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	v := s.view(w, r)
	if v == nil {
		return
	}
	e, err := v.Memory(ns, key)
	if err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	writeJSON(w, http.StatusOK, memoryToAPI(e))
}

// memoryDelete handles DELETE /v1/memory/{namespace}/{key}. The request
// ID comes from the Idempotency-Key header; a body is optional.
func (s *httpServer) memoryDelete(w http.ResponseWriter, r *http.Request) {
	body, aerr := readBody(w, r)
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	var req struct {
		RequestID string `json:"request_id,omitempty"`
	}
	if aerr := decodeJSON(body, &req, true); aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	ns, key := r.PathValue("namespace"), r.PathValue("key")
	if err := checkMemoryKey(ns, key); err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	id, aerr := requestID(r, req.RequestID)
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	cmd := &fsm.MemoryDelete{Header: s.header(id), Namespace: ns, Key: key}
	if res := s.propose(w, r, body, cmd); res != nil {
		w.WriteHeader(http.StatusNoContent)
	}
}

// memoryList handles GET /v1/memory/{namespace}?prefix=&pattern=.
func (s *httpServer) memoryList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := checkQuery(q, "prefix", "pattern", "stale"); err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	ns := r.PathValue("namespace")
	if err := checkNamespace(ns); err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	v := s.view(w, r)
	if v == nil {
		return
	}
	es, err := v.MemoryQuery(ns, q.Get("prefix"), q.Get("pattern"))
	if err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	writeJSON(w, http.StatusOK, &api.MemoryList{Entries: memoriesToAPI(es), Index: v.Index()})
}

// memoryExport handles GET /v1/memory?namespace=: every live entry (of
// one namespace, or all), in a form POST /v1/memory imports.
func (s *httpServer) memoryExport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := checkQuery(q, "namespace", "stale"); err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	if ns := q.Get("namespace"); ns != "" {
		if err := checkNamespace(ns); err != nil {
			writeAPIError(w, toAPIError(err))
			return
		}
	}
	v := s.view(w, r)
	if v == nil {
		return
	}
	es, err := v.MemoryQuery(q.Get("namespace"), "", "")
	if err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	writeJSON(w, http.StatusOK, &api.MemoryList{Entries: memoriesToAPI(es), Index: v.Index()})
}

// memoryImport handles POST /v1/memory: stores every entry of an export
// in one command.
func (s *httpServer) memoryImport(w http.ResponseWriter, r *http.Request) {
	// The body of an export (a MemoryList, with its index) is accepted
	// as it is.
	var req struct {
		api.MemoryImportRequest
		Index uint64 `json:"index,omitempty"`
	}
	body, id, ok := readWrite(w, r, &req, false, func() string { return req.RequestID })
	if !ok {
		return
	}
	cmd, err := memoryImportCommand(&req.MemoryImportRequest, s.header(id))
	if err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	if res := s.propose(w, r, body, cmd); res != nil {
		writeJSON(w, http.StatusOK, &api.MemoryImportResult{Imported: res.Count})
	}
}
