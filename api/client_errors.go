package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Stable error codes of the HTTP API (see the package documentation).
const (
	CodeBadJSON               = "bad_json"
	CodeUnknownField          = "unknown_field"
	CodeInvalidArgument       = "invalid_argument"
	CodeNotFound              = "not_found"
	CodeNoRoute               = "no_route"
	CodeMethodNotAllowed      = "method_not_allowed"
	CodeInvalidTransition     = "invalid_transition"
	CodeBlockedByDependencies = "blocked_by_dependencies"
	CodeAlreadyStarted        = "already_started"
	CodeStaleAttempt          = "stale_attempt"
	CodeCycle                 = "cycle"
	CodeSelfDependency        = "self_dependency"
	CodeChildrenUnfinished    = "children_unfinished"
	CodeWIPLimit              = "wip_limit"
	CodeBodyTooLarge          = "body_too_large"
	CodeNoLeader              = "no_leader"
	CodeTimeout               = "timeout"
	CodeInternal              = "internal"
)

// Error is a non-2xx answer of the API. Use errors.As to reach it, or the
// helpers ErrorCode, IsNotFound and IsConflict.
type Error struct {
	StatusCode int      // HTTP status
	Code       string   // stable code, e.g. "not_found"; "" when the body was not an API error
	Message    string   // human message
	Cycle      []string // for Code "cycle": the work orders that would form it, in order
}

// Error returns "message (code)", with the cycle appended when the
// message does not already name it.
func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	if len(e.Cycle) > 0 {
		path := strings.Join(e.Cycle, " -> ")
		if !strings.Contains(msg, path) {
			msg += ": " + path
		}
	}
	code := e.Code
	if code == "" {
		code = fmt.Sprintf("http %d", e.StatusCode)
	}
	return fmt.Sprintf("%s (%s)", msg, code)
}

// decodeError turns a non-2xx response into *Error. A body that is not
// the API's error JSON (a proxy's page, say) becomes the message.
func decodeError(resp *http.Response) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &Error{StatusCode: resp.StatusCode}
	var body ErrorBody
	if err := json.Unmarshal(raw, &body); err == nil && body.Error != nil && body.Error.Code != "" {
		e.Code, e.Message, e.Cycle = body.Error.Code, body.Error.Message, body.Error.Cycle
		return e
	}
	text := strings.TrimSpace(string(raw))
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	e.Message = resp.Status
	if text != "" {
		e.Message += ": " + text
	}
	return e
}

// AsError returns the *Error in err's chain, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// ErrorCode returns the API error code in err's chain, or "" when err is
// not an answer of the API (a network failure, say).
func ErrorCode(err error) string {
	if e := AsError(err); e != nil {
		return e.Code
	}
	return ""
}

// IsNotFound reports whether err is a not_found answer.
func IsNotFound(err error) bool { return ErrorCode(err) == CodeNotFound }

// IsConflict reports whether err is a 409 answer: the request was valid
// but the state did not allow it (invalid_transition, cycle, wip_limit …).
func IsConflict(err error) bool {
	e := AsError(err)
	return e != nil && e.StatusCode == http.StatusConflict
}

// IsRetryable reports whether err is an answer that a retry with the same
// idempotency key may change: no leader, or a commit that timed out.
func IsRetryable(err error) bool {
	e := AsError(err)
	return e != nil && e.StatusCode == http.StatusServiceUnavailable
}
