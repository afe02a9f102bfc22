package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/fsm"
)

// apiError is an error answer: an HTTP status and a stable code.
type apiError struct {
	status  int
	code    string
	message string
	cycle   []string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

// invalidArg returns a 400 invalid_argument error.
func invalidArg(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "invalid_argument", message: fmt.Sprintf(format, args...)}
}

// writeError writes the JSON error body {"error":{...}}.
func writeError(w http.ResponseWriter, status int, code, message string) {
	writeAPIError(w, &apiError{status: status, code: code, message: message})
}

// writeAPIError writes e as the JSON error body.
func writeAPIError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, &api.ErrorBody{Error: &api.ErrorDetail{
		Code: e.code, Message: e.message, Cycle: e.cycle,
	}})
}

// writeJSON writes v as an indented-free JSON answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"error":{"code":"internal","message":"encoding the answer failed"}}`)
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// fsmStatus maps a business error code to its HTTP status (api/doc.go).
func fsmStatus(code fsm.Code) int {
	switch code {
	case fsm.ErrNotFound.Code:
		return http.StatusNotFound
	case fsm.ErrInvalidArgument.Code:
		return http.StatusBadRequest
	case fsm.ErrLineStopped.Code:
		return http.StatusConflict // an open andon stops the line; resolve it (GET /v1/andon)
	default:
		// invalid_transition, blocked_by_dependencies, already_started,
		// stale_attempt, cycle, self_dependency, children_unfinished,
		// wip_limit, and any code added later: a refusal given the state.
		return http.StatusConflict
	}
}

// toAPIError maps any error from validation, Propose, View or a Result to
// its answer.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var fe *fsm.Error
	if errors.As(err, &fe) {
		msg := fe.Message
		if msg == "" {
			msg = string(fe.Code)
		}
		return &apiError{status: fsmStatus(fe.Code), code: string(fe.Code), message: msg, cycle: fe.Cycle}
	}
	switch {
	case errors.Is(err, ErrNotLeader), errors.Is(err, ErrNoLeader):
		return &apiError{status: http.StatusServiceUnavailable, code: "no_leader",
			message: "no leader is known (election in progress or quorum lost); retry shortly"}
	case errors.Is(err, ErrLeadershipLost):
		return &apiError{status: http.StatusServiceUnavailable, code: "no_leader",
			message: "leadership was lost while the write was in flight; its outcome is unknown. " +
				"Retrying with the same Idempotency-Key is safe: it is applied at most once"}
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return &apiError{status: http.StatusServiceUnavailable, code: "timeout",
			message: "timed out waiting for the cluster; a write's outcome is unknown. " +
				"Retrying with the same Idempotency-Key is safe"}
	case errors.Is(err, context.Canceled):
		return &apiError{status: http.StatusServiceUnavailable, code: "timeout", message: "request cancelled"}
	case errors.Is(err, ErrShutdown):
		return &apiError{status: http.StatusServiceUnavailable, code: "no_leader", message: "this node is shutting down"}
	}
	return &apiError{status: http.StatusInternalServerError, code: "internal", message: err.Error()}
}

// validationError maps an fsm.Validate error to 400 invalid_argument,
// keeping a business code when Validate returned one.
func validationError(err error) *apiError {
	var fe *fsm.Error
	if errors.As(err, &fe) && fe.Code != fsm.ErrInvalidArgument.Code {
		return toAPIError(fe)
	}
	if fe != nil && fe.Message != "" {
		return invalidArg("%s", fe.Message)
	}
	return invalidArg("%s", err.Error())
}
