package main

import (
	"fmt"
	"io"
	"sort"

	"github.com/hive-swarm/hive/api"
	"github.com/urfave/cli/v2"
)

// transitionHelp is the help of each transition command.
var transitionHelp = map[string]struct {
	usage, text string
	examples    []string
}{
	api.ActionStart: {"start a queued work order",
		`Moves a queued work order to in_progress and increments its attempt. Fails with
blocked_by_dependencies, wip_limit, already_started or not_found.`,
		[]string{"hive wo start WO-1", "hive wo start WO-1 --agent shell -json"}},
	api.ActionAdvance: {"move a work order on to its next state",
		`Moves a work order on: in_progress → review → testing → completed. --attempt
fences stale work: a report from an older attempt fails with stale_attempt.`,
		[]string{"hive wo advance WO-1", "hive wo advance WO-1 --attempt 2 --stage testing"}},
	api.ActionProgress: {"record a stage or progress note",
		`Records progress without changing the state; also serves as a heartbeat.`,
		[]string{"hive wo progress WO-1 --stage implementation --progress \"3/5 files\""}},
	api.ActionComplete: {"complete a work order with its evidence",
		`Completes a work order, recording its evidence (exit code, artifact, outputs).
Dependents whose last dependency this was unblock in the same commit.`,
		[]string{"hive wo complete WO-1 --artifact sku-42", "hive wo complete WO-1 --attempt 1 --exit-code 0 --output report=ok"}},
	api.ActionFail: {"fail a work order with its evidence",
		`Marks a work order failed, recording why and its evidence. A failure reported
with --attempt (by the attempt that failed) is retried while the work order's
retry policy has attempts left: it is queued again after a backoff. --no-retry
fails it for good (a retry cannot help); a failure without --attempt is always
final.`,
		[]string{"hive wo fail WO-1 --reason \"tests red\" --exit-code 2", "hive wo fail WO-1 --attempt 2 --no-retry --reason \"bad input\""}},
	api.ActionCancel: {"cancel a work order",
		`Cancels a work order. --cascade also cancels its unfinished dependents.`,
		[]string{"hive wo cancel WO-1 --reason duplicate", "hive wo cancel WO-1 --cascade"}},
}

// transitionFlags lists the flags each action takes.
var transitionFlags = map[string][]string{
	api.ActionStart:    {"attempt", "agent", "reason"},
	api.ActionAdvance:  {"attempt", "agent", "stage", "reason"},
	api.ActionProgress: {"attempt", "agent", "stage", "progress"},
	api.ActionComplete: {"attempt", "agent", "exit-code", "artifact", "output", "log", "reason"},
	api.ActionFail:     {"attempt", "agent", "exit-code", "artifact", "output", "log", "reason", "no-retry"},
	api.ActionCancel:   {"reason", "cascade"},
}

func transitionFlag(name string) cli.Flag {
	switch name {
	case "attempt":
		return &cli.Uint64Flag{Name: name, Usage: "the `ATTEMPT` this report belongs to; an older one is refused (stale_attempt)"}
	case "agent":
		return &cli.StringFlag{Name: name, Usage: "`AGENT` doing the work"}
	case "reason":
		return &cli.StringFlag{Name: name, Usage: "why, in `TEXT`"}
	case "stage":
		return &cli.StringFlag{Name: name, Usage: "pipeline `STAGE` reached"}
	case "progress":
		return &cli.StringFlag{Name: name, Usage: "progress `NOTE`"}
	case "exit-code":
		return &cli.IntFlag{Name: name, Usage: "exit `CODE` of the work"}
	case "artifact":
		return &cli.StringFlag{Name: name, Usage: "`ID` of the artifact produced (the SKU)"}
	case "output":
		return &cli.StringSliceFlag{Name: name, Usage: "evidence output `KEY=VALUE` (repeatable)"}
	case "log":
		return &cli.StringFlag{Name: name, Usage: "log excerpt `TEXT`, or @FILE"}
	case "cascade":
		return &cli.BoolFlag{Name: name, Usage: "also cancel unfinished dependents"}
	case "no-retry":
		return &cli.BoolFlag{Name: name, Usage: "fail for good, even if the retry policy has attempts left"}
	}
	panic("unknown transition flag " + name)
}

func woTransitionCommand(action string) *cli.Command {
	h := transitionHelp[action]
	var flags []cli.Flag
	for _, name := range transitionFlags[action] {
		flags = append(flags, transitionFlag(name))
	}
	flags = append(flags, requestIDFlag())
	return &cli.Command{
		Name:        action,
		Usage:       h.usage,
		UsageText:   fmt.Sprintf("hive wo %s ID [options]", action),
		Description: description(h.text, h.examples...),
		Flags:       flags,
		Action:      func(c *cli.Context) error { return woTransition(c, action) },
	}
}

func woTransition(c *cli.Context, action string) error {
	if err := wantArgs(c, 1, 1); err != nil {
		return err
	}
	req := &api.TransitionRequest{
		Attempt:   c.Uint64("attempt"),
		Agent:     c.String("agent"),
		Stage:     c.String("stage"),
		Progress:  c.String("progress"),
		Reason:    c.String("reason"),
		Cascade:   c.Bool("cascade"),
		NoRetry:   c.Bool("no-retry"),
		RequestID: c.String("request-id"),
	}
	if c.IsSet("attempt") && req.Attempt == 0 {
		return invalidf("--attempt: attempts count from 1")
	}
	ev, err := evidence(c)
	if err != nil {
		return err
	}
	req.Evidence = ev
	cl, err := client(c)
	if err != nil {
		return err
	}
	wo, err := cl.WorkOrders().Transition(c.Context, c.Args().First(), action, req)
	if err != nil {
		return err
	}
	return output(c, wo, func(w io.Writer) error {
		if action == api.ActionFail && wo.State == "queued" && wo.NotBefore != nil {
			_, err := fmt.Fprintf(w, "%s failed attempt %d; retry %d is queued, not before %s\n", wo.ID, wo.Attempt, wo.Retries, stamp(*wo.NotBefore))
			return err
		}
		_, err := fmt.Fprintf(w, "%s is %s (attempt %d)\n", wo.ID, stateText(wo), wo.Attempt)
		return err
	})
}

// evidence builds the evidence from --exit-code, --artifact, --output and
// --log, or nil when none is given.
func evidence(c *cli.Context) (*api.Evidence, error) {
	if !c.IsSet("exit-code") && !c.IsSet("artifact") && !c.IsSet("output") && !c.IsSet("log") {
		return nil, nil
	}
	outputs, err := parseKV("--output", c.StringSlice("output"))
	if err != nil {
		return nil, err
	}
	ev := &api.Evidence{ExitCode: c.Int("exit-code"), Artifact: c.String("artifact"), Outputs: outputs}
	if l := c.String("log"); l != "" {
		b, err := readArgFile(c, l)
		if err != nil {
			return nil, err
		}
		ev.Log = string(b)
	}
	return ev, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
