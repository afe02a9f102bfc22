package node

import (
	"time"

	"github.com/hive-swarm/hive/fsm"
)

// runTimeoutText renders a work order's run timeout as a Go duration; ""
// for none (the executing node's default).
func runTimeoutText(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// runTimeoutFromAPI parses a create request's run_timeout: "" or a zero
// duration is none (the executing node's default); otherwise a Go
// duration up to fsm.MaxRunTimeout. Checked here in the API's terms, then
// again by fsm.Validate.
func runTimeoutFromAPI(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, invalidArg("run_timeout: %q is not a Go duration such as \"90s\" or \"2h\"", s)
	}
	if d < 0 || d > fsm.MaxRunTimeout {
		return 0, invalidArg("run_timeout: %s is outside 0..%s (0: the node's default)", s, fsm.MaxRunTimeout)
	}
	return d, nil
}
