package main

import (
	"fmt"
	"io"

	"github.com/hive-swarm/hive/api"
	"github.com/urfave/cli/v2"
)

func woExplainCommand() *cli.Command {
	return &cli.Command{
		Name:      "explain",
		Aliases:   []string{"why"},
		Usage:     "explain why a work order is not running",
		UsageText: "hive wo explain ID",
		Description: description(`Prints one line per reason the work order is not running, as "code: message":
unfinished, failed or cancelled dependencies, a quarantine by an andon, a line
stopped by an andon, a retry's backoff, a WIP limit, or (for a finished or
running work order) its state. A queued work order that nothing holds back
prints that it is free to start.`,
			"hive wo explain WO-7",
			"hive wo explain WO-7 -json | jq -r '.reasons[].code'"),
		Action: woExplain,
	}
}

func woExplain(c *cli.Context) error {
	if err := wantArgs(c, 1, 1); err != nil {
		return err
	}
	cl, err := client(c)
	if err != nil {
		return err
	}
	e, err := cl.WorkOrders().Explain(c.Context, c.Args().First(), queryOpts(c))
	if err != nil {
		return err
	}
	if e.Reasons == nil {
		e.Reasons = []*api.Reason{}
	}
	return output(c, e, func(w io.Writer) error {
		if len(e.Reasons) == 0 {
			_, err := fmt.Fprintf(w, "%s is %s and free to start: nothing holds it back\n", e.ID, e.State)
			return err
		}
		for _, r := range e.Reasons {
			line := r.Code + ": " + r.Message
			if r.Until != nil && r.Code == api.ReasonBackoff {
				line += "; until " + stamp(*r.Until)
			}
			if _, err := fmt.Fprintln(w, line); err != nil {
				return err
			}
		}
		return nil
	})
}
