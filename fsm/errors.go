package fsm

import "fmt"

// Code is a stable, machine-readable error code. The HTTP API returns it
// verbatim; never change an existing code's spelling.
type Code string

// Error is a business error returned in Result.Err. Two Errors match with
// errors.Is when their codes are equal, so callers compare against the
// sentinels below.
type Error struct {
	Code    Code
	Message string
	Cycle   []string // for ErrCycle: the cycle that the edge would close, first ID repeated last
}

// Error implements error.
func (e *Error) Error() string {
	if e.Message == "" {
		return string(e.Code)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinel errors; test with errors.Is.
var (
	ErrNotFound              = &Error{Code: "not_found"}
	ErrInvalidArgument       = &Error{Code: "invalid_argument"}
	ErrInvalidTransition     = &Error{Code: "invalid_transition"}
	ErrBlockedByDependencies = &Error{Code: "blocked_by_dependencies"}
	ErrAlreadyStarted        = &Error{Code: "already_started"}
	ErrStaleAttempt          = &Error{Code: "stale_attempt"}
	ErrCycle                 = &Error{Code: "cycle"}
	ErrSelfDependency        = &Error{Code: "self_dependency"}
	ErrChildrenUnfinished    = &Error{Code: "children_unfinished"}
	ErrWIPLimit              = &Error{Code: "wip_limit"}
	ErrLineStopped           = &Error{Code: "line_stopped"} // an open andon stops the work order's bucket or pipeline
)

// Errorf returns an *Error with the sentinel's code and a formatted message.
func Errorf(sentinel *Error, format string, args ...any) *Error {
	return &Error{Code: sentinel.Code, Message: fmt.Sprintf(format, args...)}
}
