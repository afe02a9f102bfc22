package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/hive-swarm/hive/api"
	"github.com/urfave/cli/v2"
)

func pipelineCommand() *cli.Command {
	return &cli.Command{
		Name:      "pipeline",
		Usage:     "list pipeline templates and start runs of them",
		UsageText: `hive pipeline <command> [options] [arguments...]`,
		Description: description(`A pipeline template is a named chain of stages (the default one: research →
plan → implement → test → review). A run creates a parent work order and one
work order per stage, each waiting for the one before; the parent completes
when the last stage does. Templates are part of the scheduler policy
(hive scheduler set --file).`,
			"hive pipeline list",
			"hive pipeline run default --title \"Add rate limiting\" --label enhancement"),
		Subcommands: []*cli.Command{
			pipelineListCommand(),
			pipelineRunCommand(),
		},
	}
}

func pipelineListCommand() *cli.Command {
	return &cli.Command{
		Name:      "list",
		Aliases:   []string{"ls"},
		Usage:     "list the pipeline templates",
		UsageText: "hive pipeline list",
		Description: description(`Lists every template with its stages in order: the agent type that runs
each, the WIP stage it counts against, and its estimated effort.`,
			"hive pipeline list",
			"hive pipeline list -json | jq '.pipelines[].name'"),
		Action: func(c *cli.Context) error {
			if err := wantArgs(c, 0, 0); err != nil {
				return err
			}
			cl, err := client(c)
			if err != nil {
				return err
			}
			pl, err := cl.Pipelines().List(c.Context, queryOpts(c))
			if err != nil {
				return err
			}
			return output(c, pl, func(w io.Writer) error { return printPipelines(w, pl.Pipelines) })
		},
	}
}

// printPipelines renders templates as one table row per stage.
func printPipelines(w io.Writer, ps []*api.Pipeline) error {
	if len(ps) == 0 {
		_, err := fmt.Fprintln(w, "Pipelines: none")
		return err
	}
	t := newTable(w, "PIPELINE", "#", "STEP", "AGENT TYPE", "WIP STAGE", "EFFORT")
	for _, p := range ps {
		for i, s := range p.Stages {
			stage := s.Stage
			if stage == "" {
				stage = s.Name
			}
			t.row(p.Name, i+1, s.Name, s.AgentType, stage, effortText(s.Effort))
		}
	}
	return t.flush()
}

func pipelineRunCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "start a run of a pipeline template",
		UsageText: "hive pipeline run NAME --title TITLE [options]",
		Description: description(`Creates, in one step, a run of the template NAME: a parent work order and
one work order per stage, titled "TITLE (stage)". Every one of them gets the
bucket, priority, labels, payload and deadline given here (bucket and
priority are derived from the labels when not given). The first stage is
queued; the others are blocked until the stage before completes. The request
carries an idempotency key, so a retry never starts a second run.`,
			"hive pipeline run default --title \"Add rate limiting\"",
			"hive pipeline run default --title \"Fix CVE-2026-1234\" --label security --priority critical",
			"hive pipeline run default --title \"Tune cache\" --bucket cost --payload @task.json -json"),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "title", Usage: "`TITLE` of the run (required)"},
			&cli.StringFlag{Name: "description", Usage: "longer `TEXT`"},
			&cli.StringFlag{Name: "bucket", Usage: "`BUCKET`: security, reliability, compliance, cost, features, technical_debt"},
			&cli.StringFlag{Name: "priority", Usage: "`LEVEL`: critical, high, medium or low"},
			&cli.StringSliceFlag{Name: "label", Usage: "`LABEL` (repeatable, or comma-separated)"},
			&cli.StringFlag{Name: "payload", Usage: "`JSON` handed to every stage's agent, or @FILE"},
			&cli.StringFlag{Name: "deadline", Usage: "`TIME` in RFC 3339, or relative like +72h"},
			requestIDFlag(),
		},
		Action: pipelineRun,
	}
}

func pipelineRun(c *cli.Context) error {
	if err := wantArgs(c, 1, 1); err != nil {
		return err
	}
	name := c.Args().First()
	req := &api.RunPipelineRequest{
		Title:       c.String("title"),
		Description: c.String("description"),
		Bucket:      c.String("bucket"),
		Priority:    c.String("priority"),
		Labels:      c.StringSlice("label"),
		RequestID:   c.String("request-id"),
	}
	if strings.TrimSpace(req.Title) == "" {
		return invalidf("--title is required")
	}
	var err error
	if req.Payload, err = jsonArg(c, "payload"); err != nil {
		return err
	}
	if req.Deadline, err = deadlineFlag(c); err != nil {
		return err
	}
	cl, err := client(c)
	if err != nil {
		return err
	}
	run, err := cl.Pipelines().Run(c.Context, name, req)
	if err != nil {
		return err
	}
	return output(c, run, func(w io.Writer) error {
		if run.Run == nil {
			return fmt.Errorf("the node answered without the run")
		}
		fmt.Fprintf(w, "Started %s run %s: %d stages, priority %s, bucket %s\n",
			run.Pipeline, run.Run.ID, len(run.Stages), run.Run.Priority, run.Run.Bucket)
		t := newTable(w, "ID", "STAGE", "TYPE", "STATE", "TITLE")
		for _, s := range run.Stages {
			t.row(s.ID, s.Stage, s.Type, stateText(s), truncate(s.Title, 60))
		}
		return t.flush()
	})
}
