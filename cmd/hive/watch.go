package main

import (
	"errors"
	"fmt"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/fsm"
	"github.com/urfave/cli/v2"
)

func woWatchCommand() *cli.Command {
	return &cli.Command{
		Name:      "watch",
		Usage:     "follow one work order until it finishes",
		UsageText: "hive wo watch ID",
		Description: description(`Prints the work order's events, from its creation on, until it reaches a
terminal state. Exits 0 when it completed; when it failed or was cancelled it
prints "Error: … (workorder_failed)" or "(workorder_cancelled)" and exits 1.
A dropped connection is resumed where it stopped. While the work order runs,
its progress (stage, percent or step, elapsed time, and the ETA: the SLA's
predicted finish, else "~" extrapolated from the percent) is shown: on a
terminal as a line redrawn in place under the events, otherwise as a plain
"progress …" line each time the agent reports new progress.`,
			"hive wo watch WO-7",
			"hive wo create --title build --type shell -json | jq -r .id | xargs hive wo watch"),
		Action: woWatch,
	}
}

func woWatch(c *cli.Context) error {
	if err := wantArgs(c, 1, 1); err != nil {
		return err
	}
	id := c.Args().First()
	cl, err := client(c)
	if err != nil {
		return err
	}
	ctx, stop := signalContext(c)
	defer stop()
	wo, err := cl.WorkOrders().Get(ctx, id, queryOpts(c))
	if err != nil {
		return err
	}
	p := newEventPrinter(c)
	show := p.progress(ctx, cl)
	defer p.finish()
	final := ""
	opts := &api.EventStreamOptions{Topics: []string{api.TopicWorkOrder}, WorkOrder: wo.ID, Index: max(wo.CreateIndex, 1)}
	err = cl.Events().Follow(ctx, opts, func(e *api.Event) error {
		if err := show(e); err != nil {
			return err
		}
		if e.Topic == api.TopicWorkOrder && fsm.State(e.To).Terminal() {
			final = e.To
			return api.ErrStopFollowing
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ctx.Err()) && c.Context.Err() == nil {
			return &cliError{code: "interrupted", msg: fmt.Sprintf("stopped watching %s before it finished", wo.ID)}
		}
		return err
	}
	switch final {
	case "completed":
		return nil
	case "failed", "cancelled":
		return &cliError{code: "workorder_" + final, msg: fmt.Sprintf("%s %s", wo.ID, final)}
	}
	return fmt.Errorf("watching %s: the stream ended early", wo.ID)
}
