package sdk

import (
	"context"
	"os"
	"strconv"
)

// The conformance probes: tasks of agent type plugins.ProbeAgentType that
// the SDK answers itself, so that the conformance kit can check the
// streaming, cancellation and crash behaviour of any SDK plugin without
// knowing its agents. They are served only when the kit enables them
// through plugins.ProbeEnv; a node never sends tasks of that type.

// probeRequest is a probe task's payload.
type probeRequest struct {
	// Probe is "noop", "stream", "hang" or "crash".
	Probe string `json:"probe"`
	// Events is the number of events "stream" sends.
	Events int `json:"events"`
	// Nonce is logged when "hang" sees its context end, so that the kit
	// can tell that the cancellation reached the handler.
	Nonce string `json:"nonce"`
	// ExitCode is the status "crash" exits with (default 3).
	ExitCode int `json:"exit_code"`
}

// probe is the handler of probe tasks.
func (s *server) probe(ctx context.Context, task *Task, r Reporter) (*Result, error) {
	var p probeRequest
	if err := DecodePayload(task, &p); err != nil {
		return nil, err
	}
	switch p.Probe {
	case "noop":
		return &Result{}, nil
	case "stream":
		for i := 1; i <= p.Events; i++ {
			if i%2 == 1 {
				r.Progress("probe", float64(100*i)/float64(p.Events), "event "+strconv.Itoa(i))
			} else {
				r.Log(StreamAgent, "event "+strconv.Itoa(i))
			}
		}
		return &Result{Outputs: map[string]string{"events": strconv.Itoa(p.Events)}}, nil
	case "hang":
		r.Progress("hang", 0, "waiting for cancellation")
		<-ctx.Done()
		Logger(ctx).Info("probe cancelled", "nonce", p.Nonce, "cause", ctx.Err())
		return nil, ctx.Err()
	case "crash":
		r.Progress("crash", 50, "crashing")
		Logger(ctx).Info("probe crashing", "nonce", p.Nonce)
		code := p.ExitCode
		if code == 0 {
			code = 3
		}
		os.Exit(code)
	}
	return nil, Invalidf("unknown probe %q", p.Probe)
}
