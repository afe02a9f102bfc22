package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hive-swarm/hive/api"
	"github.com/urfave/cli/v2"
)

func woCommand() *cli.Command {
	return &cli.Command{
		Name:      "wo",
		Aliases:   []string{"workorder"},
		Usage:     "create, list, show and steer work orders",
		UsageText: `hive wo <command> [options] [arguments...]`,
		Description: description(`Work orders are the units of work Hive runs. They move
queued → in_progress → review → testing → completed, or to blocked, failed or
cancelled; only listed transitions are legal.`,
			"hive wo create --title \"Rotate keys\" --label security",
			"hive wo list --state queued",
			"hive wo show WO-1",
			"hive wo start WO-1 --agent shell",
			"hive wo dep add WO-2 WO-1"),
		Subcommands: []*cli.Command{
			woCreateCommand(),
			woListCommand(),
			woShowCommand(),
			woExplainCommand(),
			woQueueCommand(),
			woTransitionCommand(api.ActionStart),
			woTransitionCommand(api.ActionAdvance),
			woTransitionCommand(api.ActionProgress),
			woTransitionCommand(api.ActionComplete),
			woTransitionCommand(api.ActionFail),
			woTransitionCommand(api.ActionCancel),
			woDepCommand(),
			woWatchCommand(),
		},
	}
}

func woCreateCommand() *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "submit a work order",
		UsageText: "hive wo create --title TITLE [options]\nhive wo create --file FILE [--request-id KEY]",
		Description: description(`Submits a work order and prints its assigned ID. The bucket and priority are
derived from the labels and signal when not given. A work order with unfinished
dependencies starts blocked. The request carries an idempotency key, so a retry
after a lost answer never creates a second work order.

With --file, creates one work order per line of a JSON Lines file (- for
standard input), each line a POST /v1/workorders body such as
{"title":"Fix login","labels":["bug"],"depends_on":["WO-1"]}. Every line is
checked first; the work orders go in batches of up to 1000, each committed as
one raft entry, and a table of line, ID, state and title is printed (-json: the
batch answers). A bad line fails the command naming it, before anything of its
batch is created. --request-id KEY makes a rerun create nothing twice.`,
			"hive wo create --title \"Patch CVE-2026-1234\" --signal cve",
			"hive wo create --title \"Fix login\" --label bug --effort 30m --deadline +24h",
			"hive wo create --title \"Release notes\" --depends-on WO-1 --payload @payload.json -json",
			"hive wo create --title \"Deploy\" --type shell --retries 4 --retry-delay 5s --retry-factor 1.5 --retry-max 2m",
			"hive wo create --title \"Nightly build\" --type shell --run-timeout 90m",
			"hive wo create --file orders.jsonl --request-id import-2026-05-01",
			"jq -c '.[]' orders.json | hive wo create --file - -json"),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "title", Usage: "short `TITLE` (required)"},
			&cli.StringFlag{Name: "description", Usage: "longer `TEXT`"},
			&cli.StringFlag{Name: "type", Usage: "agent `TYPE` that runs it"},
			&cli.StringFlag{Name: "bucket", Usage: "`BUCKET`: security, reliability, compliance, cost, features, technical_debt"},
			&cli.StringFlag{Name: "priority", Usage: "`LEVEL`: critical, high, medium or low"},
			&cli.IntFlag{Name: "score", Usage: "priority as a 1-10 `SCORE` (instead of --priority)"},
			&cli.StringSliceFlag{Name: "label", Usage: "`LABEL` (repeatable, or comma-separated)"},
			&cli.StringFlag{Name: "payload", Usage: "`JSON` handed to the agent, or @FILE"},
			&cli.DurationFlag{Name: "effort", Usage: "estimated effort, a `DURATION` like 30m"},
			&cli.StringFlag{Name: "stage", Usage: "pipeline `STAGE`"},
			&cli.StringFlag{Name: "signal", Usage: "pull `SIGNAL`: github_issue, github_pr, cve, internal_request, …"},
			&cli.StringSliceFlag{Name: "depends-on", Usage: "`ID` of a work order this one waits for (repeatable)"},
			&cli.StringFlag{Name: "deadline", Usage: "`TIME` in RFC 3339, or relative like +24h"},
			&cli.StringFlag{Name: "parent", Usage: "`ID` of the parent work order"},
			&cli.IntFlag{Name: "retries", Usage: "retry a failed attempt up to `N` times (default 2; 0 = never)"},
			&cli.DurationFlag{Name: "retry-delay", Usage: "backoff before the first retry, a `DURATION` (default 1s)"},
			&cli.Float64Flag{Name: "retry-factor", Usage: "backoff growth per retry, a `FACTOR` from 1 to 10 (default 2)"},
			&cli.DurationFlag{Name: "retry-max", Usage: "backoff cap, a `DURATION` (default 1m)"},
			runTimeoutFlag(),
			requestIDFlag(),
			fileFlag(),
		},
		Action: woCreate,
	}
}

func woCreate(c *cli.Context) error {
	if c.IsSet("file") {
		return woCreateFile(c)
	}
	if err := wantArgs(c, 0, 0); err != nil {
		return err
	}
	req := &api.CreateWorkOrderRequest{
		Title:       c.String("title"),
		Description: c.String("description"),
		Type:        c.String("type"),
		Bucket:      c.String("bucket"),
		Priority:    c.String("priority"),
		Labels:      c.StringSlice("label"),
		Stage:       c.String("stage"),
		Signal:      c.String("signal"),
		DependsOn:   c.StringSlice("depends-on"),
		Parent:      c.String("parent"),
		RequestID:   c.String("request-id"),
	}
	if strings.TrimSpace(req.Title) == "" {
		return invalidf("--title is required")
	}
	if c.IsSet("score") {
		if c.IsSet("priority") {
			return invalidf("give --priority or --score, not both")
		}
		s := c.Int("score")
		if s < 1 || s > 10 {
			return invalidf("--score: %d is not between 1 and 10", s)
		}
		req.PriorityScore = s
	}
	var err error
	if req.Payload, err = jsonArg(c, "payload"); err != nil {
		return err
	}
	if c.IsSet("effort") {
		d := c.Duration("effort")
		if d <= 0 {
			return invalidf("--effort: %s is not a positive duration", d)
		}
		req.Effort = int64((d + time.Second - 1) / time.Second)
	}
	if req.Deadline, err = deadlineFlag(c); err != nil {
		return err
	}
	retry, err := retryPolicy(c)
	if err != nil {
		return err
	}
	req.Retry = retry
	if req.RunTimeout, err = runTimeout(c); err != nil {
		return err
	}
	cl, err := client(c)
	if err != nil {
		return err
	}
	wo, err := cl.WorkOrders().Create(c.Context, req)
	if err != nil {
		return err
	}
	return output(c, wo, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Created %s: %s, priority %s, bucket %s\n", wo.ID, stateText(wo), wo.Priority, wo.Bucket)
		return err
	})
}

// stateText is the state with its reason when blocked.
func stateText(wo *api.WorkOrder) string {
	s := wo.State
	if wo.BlockedReason != "" {
		s += " (" + wo.BlockedReason + ")"
	} else if wo.State == "blocked" && len(wo.DependsOn) > 0 {
		s += " (waiting on " + list(wo.DependsOn) + ")"
	}
	return s
}

func woListCommand() *cli.Command {
	return &cli.Command{
		Name:      "list",
		Aliases:   []string{"ls"},
		Usage:     "list work orders",
		UsageText: "hive wo list [--state S] [--bucket B] [--priority P] [--type T] [--label L] [--parent ID] [--limit N] [--after ID | --all]",
		Description: description(`Lists work orders in ID order, one page at a time (the server's page size
unless --limit is given); --all pages through every match.`,
			"hive wo list",
			"hive wo list --state blocked --bucket security",
			"hive wo list --all -json | jq '.workorders[].id'"),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "state", Usage: "only work orders in `STATE`"},
			&cli.StringFlag{Name: "bucket", Usage: "only work orders in `BUCKET`"},
			&cli.StringFlag{Name: "priority", Usage: "only work orders of `LEVEL`"},
			&cli.StringFlag{Name: "type", Usage: "only work orders of agent `TYPE`"},
			&cli.StringFlag{Name: "label", Usage: "only work orders with `LABEL`"},
			&cli.StringFlag{Name: "parent", Usage: "only children of `ID`"},
			&cli.IntFlag{Name: "limit", Usage: "page size `N`"},
			&cli.StringFlag{Name: "after", Usage: "start after `ID` (the page token printed by the previous page)"},
			&cli.BoolFlag{Name: "all", Usage: "page through every match"},
		},
		Action: woList,
	}
}

func woList(c *cli.Context) error {
	if err := wantArgs(c, 0, 0); err != nil {
		return err
	}
	if c.Int("limit") < 0 {
		return invalidf("--limit: must not be negative")
	}
	if c.Bool("all") && c.IsSet("after") {
		return invalidf("give --after or --all, not both")
	}
	opts := &api.ListOptions{
		State: c.String("state"), Bucket: c.String("bucket"), Priority: c.String("priority"),
		Type: c.String("type"), Label: c.String("label"), Parent: c.String("parent"),
		After: c.String("after"), Limit: c.Int("limit"),
	}
	cl, err := client(c)
	if err != nil {
		return err
	}
	var page *api.WorkOrderList
	if c.Bool("all") {
		all, err := cl.WorkOrders().ListAll(c.Context, opts, queryOpts(c))
		if err != nil {
			return err
		}
		page = &api.WorkOrderList{WorkOrders: all}
	} else if page, err = cl.WorkOrders().List(c.Context, opts, queryOpts(c)); err != nil {
		return err
	}
	if page.WorkOrders == nil {
		page.WorkOrders = []*api.WorkOrder{}
	}
	return output(c, page, func(w io.Writer) error {
		if len(page.WorkOrders) == 0 {
			_, err := fmt.Fprintln(w, "No work orders.")
			return err
		}
		t := newTable(w, "ID", "STATE", "PRIORITY", "BUCKET", "STAGE", "DEPENDS ON", "CREATED", "TITLE")
		for _, wo := range page.WorkOrders {
			t.row(wo.ID, wo.State, wo.Priority, wo.Bucket, wo.Stage, list(wo.DependsOn), ago(wo.CreatedAt), truncate(wo.Title, 50))
		}
		if err := t.flush(); err != nil {
			return err
		}
		if page.Next != "" {
			fmt.Fprintf(c.App.ErrWriter, "More work orders: --after %s, or --all.\n", page.Next)
		}
		return nil
	})
}

func woShowCommand() *cli.Command {
	return &cli.Command{
		Name:      "show",
		Aliases:   []string{"get"},
		Usage:     "show one work order in detail",
		UsageText: "hive wo show ID",
		Description: description(`Shows a work order with its dependencies, dependents, children, result and
the number of receipts it has in the chain. An unknown ID fails with not_found.`,
			"hive wo show WO-1",
			"hive wo show WO-1 -json | jq .state"),
		Action: woShow,
	}
}

func woShow(c *cli.Context) error {
	if err := wantArgs(c, 1, 1); err != nil {
		return err
	}
	cl, err := client(c)
	if err != nil {
		return err
	}
	wo, err := cl.WorkOrders().Get(c.Context, c.Args().First(), queryOpts(c))
	if err != nil {
		return err
	}
	if jsonOutput(c) {
		return printJSON(c.App.Writer, wo)
	}
	receipts := "?"
	if rl, err := cl.Receipts().List(c.Context, &api.ReceiptQuery{WorkOrder: wo.ID, Limit: 10000}, queryOpts(c)); err == nil {
		receipts = fmt.Sprint(len(rl.Receipts))
	}
	f := newFields(c.App.Writer)
	f.add("ID", wo.ID)
	f.add("Title", wo.Title)
	if wo.Description != "" {
		f.add("Description", wo.Description)
	}
	f.add("State", stateText(wo))
	f.add("Priority", wo.Priority)
	f.add("Bucket", wo.Bucket)
	f.add("Type", wo.Type)
	f.add("Stage", wo.Stage)
	f.add("Signal", wo.Signal)
	f.add("Labels", list(wo.Labels))
	if wo.Effort > 0 {
		f.add("Effort", effortText(wo.Effort))
	}
	f.add("Depends on", list(wo.DependsOn))
	f.add("Dependents", list(wo.Dependents))
	f.add("Parent", wo.Parent)
	f.add("Children", list(wo.Children))
	f.add("Attempt", wo.Attempt)
	f.add("Run timeout", runTimeoutText(wo.RunTimeout))
	addFailureFields(f, wo)
	f.add("Assignee", strings.Trim(wo.Node+"/"+wo.Agent, "/"))
	f.add("Progress", wo.Progress)
	f.add("Created", stamp(wo.CreatedAt))
	f.add("Updated", stamp(wo.UpdatedAt))
	f.add("Deadline", stampPtr(wo.Deadline))
	f.add("Started", stampPtr(wo.StartedAt))
	f.add("Completed", stampPtr(wo.CompletedAt))
	if r := wo.Result; r != nil {
		f.add("Exit code", r.ExitCode)
		f.add("Artifact", r.Artifact)
		for _, k := range sortedKeys(r.Outputs) {
			f.add("Output "+k, r.Outputs[k])
		}
	}
	if len(wo.Payload) > 0 {
		f.add("Payload", string(wo.Payload))
	}
	f.add("Receipts", receipts)
	f.add("Index", fmt.Sprintf("created %d, modified %d", wo.CreateIndex, wo.ModifyIndex))
	return f.flush()
}

func woQueueCommand() *cli.Command {
	return &cli.Command{
		Name:      "queue",
		Usage:     "list queued work orders in the order they will run",
		UsageText: "hive wo queue [--bucket BUCKET] [--limit N]",
		Description: description(`Lists queued work orders in run order: priority first (critical > high >
medium > low), then first in first out, then shorter estimated effort.`,
			"hive wo queue",
			"hive wo queue --bucket security --limit 5"),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "bucket", Usage: "only `BUCKET`'s queue"},
			&cli.IntFlag{Name: "limit", Usage: "at most `N` work orders"},
		},
		Action: woQueue,
	}
}

func woQueue(c *cli.Context) error {
	if err := wantArgs(c, 0, 0); err != nil {
		return err
	}
	if c.Int("limit") < 0 {
		return invalidf("--limit: must not be negative")
	}
	cl, err := client(c)
	if err != nil {
		return err
	}
	q, err := cl.WorkOrders().Queue(c.Context, &api.QueueOptions{Bucket: c.String("bucket"), Limit: c.Int("limit")}, queryOpts(c))
	if err != nil {
		return err
	}
	if q.WorkOrders == nil {
		q.WorkOrders = []*api.WorkOrder{}
	}
	return output(c, q, func(w io.Writer) error {
		if len(q.WorkOrders) == 0 {
			_, err := fmt.Fprintln(w, "The queue is empty.")
			return err
		}
		t := newTable(w, "#", "ID", "PRIORITY", "BUCKET", "EFFORT", "DEADLINE", "CREATED", "TITLE")
		for i, wo := range q.WorkOrders {
			t.row(i+1, wo.ID, wo.Priority, wo.Bucket, effortText(wo.Effort), agoPtr(wo.Deadline), ago(wo.CreatedAt), truncate(wo.Title, 50))
		}
		return t.flush()
	})
}

func woDepCommand() *cli.Command {
	return &cli.Command{
		Name:      "dep",
		Usage:     "add or remove dependencies",
		UsageText: "hive wo dep add|rm ID DEP...",
		Description: description(`Dependencies form a DAG: a work order waits (blocked) until every work order it
depends on has completed. An edge that would close a cycle is refused, naming
the cycle.`,
			"hive wo dep add WO-3 WO-1 WO-2",
			"hive wo dep rm WO-3 WO-2"),
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "make a work order depend on others",
				UsageText: "hive wo dep add ID DEP...",
				Description: description(`Makes ID depend on every DEP. Fails with cycle (and the cycle) when an edge
would close one, with self_dependency for ID itself.`,
					"hive wo dep add WO-3 WO-1",
					"hive wo dep add WO-3 WO-1 WO-2 -json"),
				Action: func(c *cli.Context) error { return woDep(c, true) },
			},
			{
				Name:      "rm",
				Aliases:   []string{"remove"},
				Usage:     "remove dependencies of a work order",
				UsageText: "hive wo dep rm ID DEP...",
				Description: description(`Removes the edges from ID to every DEP; ID unblocks when nothing unfinished is
left.`,
					"hive wo dep rm WO-3 WO-1"),
				Action: func(c *cli.Context) error { return woDep(c, false) },
			},
		},
	}
}

func woDep(c *cli.Context, add bool) error {
	if err := wantArgs(c, 2, -1); err != nil {
		return err
	}
	cl, err := client(c)
	if err != nil {
		return err
	}
	id, deps := c.Args().First(), c.Args().Tail()
	var wo *api.WorkOrder
	if add {
		wo, err = cl.WorkOrders().AddDependencies(c.Context, id, deps...)
	} else {
		wo, err = cl.WorkOrders().RemoveDependencies(c.Context, id, deps...)
	}
	if err != nil {
		return err
	}
	return output(c, wo, func(w io.Writer) error {
		deps := list(wo.DependsOn)
		if deps == "" {
			deps = "nothing"
		}
		_, err := fmt.Fprintf(w, "%s depends on %s; it is %s\n", wo.ID, deps, stateText(wo))
		return err
	})
}

// deadlineFlag is --deadline (RFC 3339, or relative like +24h); nil when
// not given.
func deadlineFlag(c *cli.Context) (*time.Time, error) {
	s := c.String("deadline")
	if s == "" {
		return nil, nil
	}
	t, err := parseTime("--deadline", s, now(), false)
	if err != nil {
		return nil, err
	}
	return &t, nil
}
