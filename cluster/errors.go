package cluster

import "errors"

// Sentinel errors. Every error this package returns wraps one of them, so
// callers test with errors.Is and never compare strings. Validation errors
// name the offending field (in the JSON spelling) and value.
var (
	// ErrInvalidConfig reports a Config that Validate refuses: a negative
	// WIP limit, a bad leveling weight, a delegation pattern that does not
	// compile, an invalid pipeline template or an unknown strategy.
	ErrInvalidConfig = errors.New("cluster: invalid scheduler config")

	// ErrUnknownStrategy reports a strategy name that ParseStrategy does not
	// know. The message lists the valid names. Inside a Config it is also
	// wrapped with ErrInvalidConfig.
	ErrUnknownStrategy = errors.New("cluster: unknown scheduling strategy")

	// ErrInvalidPipeline reports a pipeline template that Pipeline.Validate
	// refuses (no stages, a repeated or malformed stage name, negative
	// effort).
	ErrInvalidPipeline = errors.New("cluster: invalid pipeline")

	// ErrUnknownPipeline reports a pipeline name that a Config does not hold.
	ErrUnknownPipeline = errors.New("cluster: unknown pipeline")
)
