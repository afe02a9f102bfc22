package node

import (
	"math"
	"time"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/fsm"
)

// retryToAPI converts a work order's retry policy for the API.
func retryToAPI(p fsm.RetryPolicy) *api.RetryPolicy {
	if p == (fsm.RetryPolicy{}) {
		return nil
	}
	return &api.RetryPolicy{MaxAttempts: int(p.MaxAttempts), Factor: float64(p.Factor) / 100,
		InitialDelay: durationText(p.InitialDelay), MaxDelay: durationText(p.MaxDelay)}
}

// Every work order answer carries its retry policy, nearly always with
// the default delays: their texts are made once.
var (
	defaultInitialDelayText = fsm.DefaultInitialDelay.String()
	defaultMaxDelayText     = fsm.DefaultMaxDelay.String()
)

// durationText renders a retry delay as a Go duration; "" for 0.
func durationText(d time.Duration) string {
	switch d {
	case 0:
		return ""
	case fsm.DefaultInitialDelay:
		return defaultInitialDelayText
	case fsm.DefaultMaxDelay:
		return defaultMaxDelayText
	}
	return d.String()
}

// retryFromAPI converts a client's retry policy; absent fields stay zero
// (the state machine fills in the defaults). The limits are checked here
// in the API's terms, then again by fsm.Validate.
func retryFromAPI(r *api.RetryPolicy) (fsm.RetryPolicy, error) {
	var p fsm.RetryPolicy
	if r == nil {
		return p, nil
	}
	if r.MaxAttempts < 0 || r.MaxAttempts > fsm.MaxRetryAttempts {
		return p, invalidArg("retry.max_attempts: %d is outside 1..%d", r.MaxAttempts, fsm.MaxRetryAttempts)
	}
	p.MaxAttempts = uint32(r.MaxAttempts)
	var err error
	if p.InitialDelay, err = retryDuration("retry.initial_delay", r.InitialDelay); err != nil {
		return p, err
	}
	if p.MaxDelay, err = retryDuration("retry.max_delay", r.MaxDelay); err != nil {
		return p, err
	}
	if r.Factor != 0 {
		f := math.Round(r.Factor * 100)
		switch {
		case math.IsNaN(r.Factor) || f < fsm.MinRetryFactor || f > fsm.MaxRetryFactor:
			return p, invalidArg("retry.factor: %v is outside 1..10", r.Factor)
		case math.Abs(r.Factor*100-f) > 1e-6:
			return p, invalidArg("retry.factor: %v has more than 2 decimals", r.Factor)
		}
		p.Factor = uint32(f)
	}
	// The relations between the fields, as the FSM checks them.
	if err := p.Validate(); err != nil {
		return p, validationError(err)
	}
	return p, nil
}

// retryDuration parses an optional positive Go duration of a retry policy.
func retryDuration(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, invalidArg("%s: %q is not a Go duration such as \"30s\"", field, s)
	}
	if d <= 0 || d > fsm.MaxRetryDelay {
		return 0, invalidArg("%s: %s must be positive and at most %s", field, s, fsm.MaxRetryDelay)
	}
	return d, nil
}
