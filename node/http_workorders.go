package node

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/fsm"
)

// Receipt list limits: GET /v1/receipts answers defaultReceiptLimit
// receipts unless ?limit= asks for another number, at most
// maxReceiptLimit; larger ranges page with ?from= or use the export.
const (
	defaultReceiptLimit = 1000
	maxReceiptLimit     = 10_000
)

// createWorkOrder handles POST /v1/workorders.
func (s *httpServer) createWorkOrder(w http.ResponseWriter, r *http.Request) {
	body, aerr := readBody(w, r)
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	var req api.CreateWorkOrderRequest
	if aerr := decodeCreate(body, &req); aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	id, aerr := requestID(r, req.RequestID)
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	cmd, err := createCommand(&req, s.header(id))
	if err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	if res := s.propose(w, r, body, cmd); res != nil {
		s.writeWorkOrderResult(w, res, http.StatusCreated)
	}
}

// transitionWorkOrder handles POST /v1/workorders/{id}/{action}.
func (s *httpServer) transitionWorkOrder(w http.ResponseWriter, r *http.Request) {
	action, ok := transitionActions[r.PathValue("action")]
	if !ok {
		writeError(w, http.StatusNotFound, "no_route", fmt.Sprintf(
			"no route for %s %s: unknown action %q (start, advance, progress, complete, fail, cancel)",
			r.Method, r.URL.Path, r.PathValue("action")))
		return
	}
	var req api.TransitionRequest
	body, id, ok := readWrite(w, r, &req, true, func() string { return req.RequestID })
	if !ok {
		return
	}
	cmd, err := transitionCommand(r.PathValue("id"), action, &req, s.header(id))
	if err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	if res := s.propose(w, r, body, cmd); res != nil {
		if preferMinimal(r) {
			// The caller (an executor's report, say) needs only to know
			// that the transition committed.
			w.Header().Set("Preference-Applied", "return=minimal")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		s.writeWorkOrderResult(w, res, http.StatusOK)
	}
}

// preferMinimal reports whether the request asks, with the Prefer header
// of RFC 7240, for a success answer without a body.
func preferMinimal(r *http.Request) bool {
	for _, v := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(p), "return=minimal") {
				return true
			}
		}
	}
	return false
}

// addDependencies handles POST /v1/workorders/{id}/dependencies.
func (s *httpServer) addDependencies(w http.ResponseWriter, r *http.Request) {
	s.dependencies(w, r, true)
}

// removeDependencies handles DELETE /v1/workorders/{id}/dependencies.
func (s *httpServer) removeDependencies(w http.ResponseWriter, r *http.Request) {
	s.dependencies(w, r, false)
}

func (s *httpServer) dependencies(w http.ResponseWriter, r *http.Request, add bool) {
	var req api.DependencyRequest
	body, id, ok := readWrite(w, r, &req, false, func() string { return req.RequestID })
	if !ok {
		return
	}
	cmd, err := dependencyCommand(r.PathValue("id"), &req, add, s.header(id))
	if err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	if res := s.propose(w, r, body, cmd); res != nil {
		s.writeWorkOrderResult(w, res, http.StatusOK)
	}
}

// writeWorkOrderResult answers a work-order write with the work order.
func (s *httpServer) writeWorkOrderResult(w http.ResponseWriter, res *fsm.Result, status int) {
	if res.WorkOrder == nil {
		writeError(w, http.StatusInternalServerError, "internal", "the state machine returned no work order")
		return
	}
	b, err := marshalWorkOrder(workOrderToAPI(res.WorkOrder), s.fastJSON)
	if err != nil {
		writeJSON(w, status, workOrderToAPI(res.WorkOrder)) // answers encoding/json's failure
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// getWorkOrder handles GET /v1/workorders/{id}.
func (s *httpServer) getWorkOrder(w http.ResponseWriter, r *http.Request) {
	v := s.view(w, r)
	if v == nil {
		return
	}
	wo, err := v.WorkOrder(r.PathValue("id"))
	if err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	writeJSON(w, http.StatusOK, workOrderToAPI(wo))
}

// listWorkOrders handles GET /v1/workorders.
func (s *httpServer) listWorkOrders(w http.ResponseWriter, r *http.Request) {
	f, err := parseWorkOrderFilter(r.URL.Query())
	if err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	v := s.view(w, r)
	if v == nil {
		return
	}
	items, next := v.WorkOrders(f)
	out := &api.WorkOrderList{WorkOrders: workOrdersToAPI(items), Index: v.Index()}
	if next != 0 {
		out.Next = strconv.FormatUint(next, 10)
	}
	writeJSON(w, http.StatusOK, out)
}

// queue handles GET /v1/queue.
func (s *httpServer) queue(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := checkQuery(q, "bucket", "limit", "stale"); err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	bucket := q.Get("bucket")
	if err := checkBucket("bucket", bucket); err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	limit, err := parseLimit(q, fsm.DefaultListLimit, fsm.MaxListLimit)
	if err != nil {
		writeAPIError(w, toAPIError(err))
		return
	}
	v := s.view(w, r)
	if v == nil {
		return
	}
	writeJSON(w, http.StatusOK, &api.WorkOrderList{
		WorkOrders: workOrdersToAPI(v.Queue(bucket, limit)), Index: v.Index(),
	})
}

// parseWorkOrderFilter reads the filters of GET /v1/workorders.
func parseWorkOrderFilter(q url.Values) (fsm.WorkOrderFilter, error) {
	var f fsm.WorkOrderFilter
	if err := checkQuery(q, "state", "bucket", "priority", "type", "label", "parent", "after", "limit", "stale"); err != nil {
		return f, err
	}
	if st := q.Get("state"); st != "" {
		if !fsm.ValidState(st) {
			return f, invalidArg("state: unknown state %q", st)
		}
		f.State = fsm.State(st)
	}
	f.Bucket = q.Get("bucket")
	if err := checkBucket("bucket", f.Bucket); err != nil {
		return f, err
	}
	var err error
	if f.Priority, err = parsePriority("priority", q.Get("priority")); err != nil {
		return f, err
	}
	f.Kind, f.Label, f.Parent = q.Get("type"), q.Get("label"), q.Get("parent")
	if after := q.Get("after"); after != "" {
		// The cursor is the Next of the previous page; a work order ID
		// (WO-<n>) is accepted too.
		n, err := strconv.ParseUint(strings.TrimPrefix(after, "WO-"), 10, 64)
		if err != nil {
			return f, invalidArg("after: want the next cursor of the previous page, got %q", after)
		}
		f.After = n
	}
	f.Limit, err = parseLimit(q, fsm.DefaultListLimit, fsm.MaxListLimit)
	return f, err
}

// parseLimit reads ?limit=: 1..most, def when absent.
func parseLimit(q url.Values, def, most int) (int, error) {
	s := q.Get("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > most {
		return 0, invalidArg("limit: want 1..%d, got %q", most, s)
	}
	return n, nil
}

// parseUintParam reads an optional unsigned query parameter.
func parseUintParam(q url.Values, name string) (uint64, error) {
	s := q.Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, invalidArg("%s: want a non-negative integer, got %q", name, s)
	}
	return n, nil
}

// checkQuery refuses query parameters a route does not know, and repeats
// of the ones it does, so a misspelt filter is not silently ignored.
func checkQuery(q url.Values, known ...string) error {
	for k, vs := range q {
		found := false
		for _, kn := range known {
			if k == kn {
				found = true
				break
			}
		}
		if !found {
			return invalidArg("%s: unknown query parameter (known: %s)", k, strings.Join(known, ", "))
		}
		if len(vs) > 1 {
			return invalidArg("%s: given %d times", k, len(vs))
		}
	}
	return nil
}
