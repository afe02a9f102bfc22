package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/hive-swarm/hive/api"
	"github.com/urfave/cli/v2"
)

func andonCommand() *cli.Command {
	return &cli.Command{
		Name:      "andon",
		Usage:     "pull the Andon cord, find its root cause, resume the line",
		UsageText: `hive andon <command> [options] [arguments...]`,
		Description: description(`Pulling the Andon cord on a work order quarantines it (blocked until the andon
is resolved), stops its line (its bucket, or its pipeline) so that no other work
order of the line starts (line_stopped), and creates a fix work order that the
quarantined one depends on. Fix work still runs on a stopped line. Record the
5 whys and the root cause as they are found; resolving the andon resumes the
line.`,
			"hive andon trigger WO-7 --class agent_failure --reason \"exit 137\" --why \"out of memory\"",
			"hive andon list",
			"hive andon update AN-1 --why \"out of memory\" --why \"no limit set\" --root-cause \"missing limit\"",
			"hive andon resolve AN-1 --resolution \"memory limit set\""),
		Subcommands: []*cli.Command{
			andonTriggerCommand(),
			andonListCommand(),
			andonShowCommand(),
			andonUpdateCommand(),
			andonResolveCommand(),
		},
	}
}

// stringList is a repeatable flag whose values may contain commas (a
// StringSliceFlag would split a why or a rule's pattern at them).
type stringList struct{ v []string }

func (l *stringList) Set(s string) error { l.v = append(l.v, s); return nil }
func (l *stringList) String() string     { return strings.Join(l.v, "; ") }

func whyFlag() cli.Flag {
	return &cli.GenericFlag{Name: "why", Value: &stringList{}, Usage: "one of the 5 whys, in order, as `TEXT` (repeatable)"}
}

func whys(c *cli.Context) []string {
	if l, ok := c.Generic("why").(*stringList); ok {
		return l.v
	}
	return nil
}

func requestIDFlag() cli.Flag {
	return &cli.StringFlag{Name: "request-id", Usage: "idempotency `KEY` (default: a random one)"}
}

func andonTriggerCommand() *cli.Command {
	return &cli.Command{
		Name:      "trigger",
		Aliases:   []string{"pull"},
		Usage:     "pull the Andon cord on a work order",
		UsageText: "hive andon trigger ID [--scope bucket|pipeline] [--class CLASS] [--reason TEXT] [--why TEXT]... [--fix-type TYPE]",
		Description: description(`Quarantines work order ID, stops its line and creates the fix work order, in
one replicated step. --scope bucket (the default) stops the work order's
bucket; --scope pipeline stops its pipeline (the work order must belong to a
pipeline run). A work order already quarantined fails with invalid_transition;
a finished one is not quarantined, but its line stops all the same.`,
			"hive andon trigger WO-7 --class agent_failure --reason \"exit 137\"",
			"hive andon trigger WO-12 --scope pipeline --class test_failure --why \"flaky fixture\" -json"),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "scope", Value: api.AndonScopeBucket, Usage: "what to stop: `SCOPE` bucket or pipeline"},
			&cli.StringFlag{Name: "class", Value: "manual", Usage: "failure `CLASS`, a name without spaces: agent_failure, sla_breach, cve, manual, …"},
			&cli.StringFlag{Name: "reason", Usage: "what happened, in `TEXT`"},
			whyFlag(),
			&cli.StringFlag{Name: "fix-type", Usage: "agent `TYPE` of the fix work order (default: the delegation rules decide)"},
			requestIDFlag(),
		},
		Action: func(c *cli.Context) error {
			if err := wantArgs(c, 1, 1); err != nil {
				return err
			}
			scope := c.String("scope")
			if scope != api.AndonScopeBucket && scope != api.AndonScopePipeline {
				return invalidf("--scope: %q is not bucket or pipeline", scope)
			}
			cl, err := client(c)
			if err != nil {
				return err
			}
			an, err := cl.Andons().Trigger(c.Context, &api.TriggerAndonRequest{
				WorkOrder: c.Args().First(), Scope: scope, Class: c.String("class"), Reason: c.String("reason"),
				Whys: whys(c), FixType: c.String("fix-type"), RequestID: c.String("request-id"),
			})
			if err != nil {
				return err
			}
			return output(c, an, func(w io.Writer) error {
				what := an.WorkOrder + " is quarantined"
				if !an.Quarantined {
					what = an.WorkOrder + " had already finished (not quarantined)"
				}
				_, err := fmt.Fprintf(w, "Pulled %s: line %s is stopped; %s; fix work order %s\n", an.ID, an.LineName, what, an.FixWorkOrder)
				return err
			})
		},
	}
}

func andonListCommand() *cli.Command {
	return &cli.Command{
		Name:      "list",
		Aliases:   []string{"ls"},
		Usage:     "list the open andons and the stopped lines",
		UsageText: "hive andon list [--all | --resolved]",
		Description: description(`Lists the open andons (with --all every andon, with --resolved the resolved
ones) and then the lines that open andons stop.`,
			"hive andon list",
			"hive andon list --all -json | jq '.andons[] | {id, root_cause}'"),
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Usage: "open and resolved andons"},
			&cli.BoolFlag{Name: "resolved", Usage: "only resolved andons"},
		},
		Action: func(c *cli.Context) error {
			if err := wantArgs(c, 0, 0); err != nil {
				return err
			}
			state := api.AndonOpen
			switch {
			case c.Bool("all") && c.Bool("resolved"):
				return invalidf("give --all or --resolved, not both")
			case c.Bool("all"):
				state = api.AndonAll
			case c.Bool("resolved"):
				state = api.AndonResolved
			}
			cl, err := client(c)
			if err != nil {
				return err
			}
			l, err := cl.Andons().List(c.Context, state, queryOpts(c))
			if err != nil {
				return err
			}
			return output(c, l, func(w io.Writer) error { return printAndons(w, l, state) })
		},
	}
}

// printAndons renders an AndonList for people.
func printAndons(w io.Writer, l *api.AndonList, state string) error {
	if len(l.Andons) == 0 {
		what := map[string]string{api.AndonOpen: "open andons", api.AndonResolved: "resolved andons"}[state]
		if what == "" {
			what = "andons"
		}
		fmt.Fprintf(w, "No %s.\n", what)
	} else {
		t := newTable(w, "ID", "STATE", "LINE", "WORK ORDER", "FIX", "CLASS", "TRIGGERED", "REASON")
		for _, a := range l.Andons {
			t.row(a.ID, a.State, a.LineName, a.WorkOrder, a.FixWorkOrder, a.Class, ago(a.TriggeredAt), truncate(a.Reason, 40))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if len(l.StoppedLines) == 0 {
		_, err := fmt.Fprintln(w, "No line is stopped.")
		return err
	}
	parts := make([]string, len(l.StoppedLines))
	for i, s := range l.StoppedLines {
		parts[i] = fmt.Sprintf("%s (%s)", s.Name, list(s.Andons))
	}
	_, err := fmt.Fprintf(w, "Stopped lines: %s\n", strings.Join(parts, ", "))
	return err
}

func andonShowCommand() *cli.Command {
	return &cli.Command{
		Name:      "show",
		Aliases:   []string{"get"},
		Usage:     "show one andon with its 5 whys",
		UsageText: "hive andon show ID",
		Description: description(`Shows an andon: its line, work order, fix work order, the 5 whys, the root
cause and the resolution. An unknown ID fails with not_found.`,
			"hive andon show AN-1",
			"hive andon show AN-1 -json | jq .whys"),
		Action: func(c *cli.Context) error {
			if err := wantArgs(c, 1, 1); err != nil {
				return err
			}
			cl, err := client(c)
			if err != nil {
				return err
			}
			an, err := cl.Andons().Get(c.Context, c.Args().First(), queryOpts(c))
			if err != nil {
				return err
			}
			return output(c, an, func(w io.Writer) error { return printAndon(w, an) })
		},
	}
}

// printAndon renders one andon for people.
func printAndon(w io.Writer, a *api.Andon) error {
	f := newFields(w)
	f.add("ID", a.ID)
	f.add("State", a.State)
	f.add("Line", a.LineName)
	wo := a.WorkOrder
	if a.Quarantined && a.State == api.AndonOpen {
		wo += " (quarantined)"
	}
	f.add("Work order", wo)
	f.add("Fix work order", a.FixWorkOrder)
	f.add("Class", a.Class)
	f.add("Reason", a.Reason)
	for i, why := range a.Whys {
		f.add(fmt.Sprintf("Why %d", i+1), why)
	}
	f.add("Root cause", a.RootCause)
	f.add("Resolution", a.Resolution)
	f.add("Node", a.Node)
	f.add("Triggered", stamp(a.TriggeredAt))
	f.add("Updated", stamp(a.UpdatedAt))
	f.add("Resolved", stampPtr(a.ResolvedAt))
	f.add("Index", fmt.Sprintf("created %d, modified %d", a.CreateIndex, a.ModifyIndex))
	return f.flush()
}

func andonUpdateCommand() *cli.Command {
	return &cli.Command{
		Name:      "update",
		Usage:     "record the 5 whys and the root cause",
		UsageText: "hive andon update ID [--why TEXT]... [--root-cause TEXT]",
		Description: description(`Replaces the whys with the --why flags given (all of them, in order) and sets
the root cause. Open and resolved andons may be updated; give at least one of
--why and --root-cause.`,
			"hive andon update AN-1 --why \"out of memory\" --why \"no limit set\"",
			"hive andon update AN-1 --root-cause \"the chart has no memory limit\""),
		Flags: []cli.Flag{
			whyFlag(),
			&cli.StringFlag{Name: "root-cause", Usage: "the root cause, in `TEXT`"},
			requestIDFlag(),
		},
		Action: func(c *cli.Context) error {
			if err := wantArgs(c, 1, 1); err != nil {
				return err
			}
			req := &api.UpdateAndonRequest{Whys: whys(c), RootCause: c.String("root-cause"), RequestID: c.String("request-id")}
			if len(req.Whys) == 0 && strings.TrimSpace(req.RootCause) == "" {
				return invalidf("nothing to update: give --why or --root-cause")
			}
			cl, err := client(c)
			if err != nil {
				return err
			}
			an, err := cl.Andons().Update(c.Context, c.Args().First(), req)
			if err != nil {
				return err
			}
			return output(c, an, func(w io.Writer) error { return printAndon(w, an) })
		},
	}
}

func andonResolveCommand() *cli.Command {
	return &cli.Command{
		Name:      "resolve",
		Usage:     "resolve an andon and resume its line",
		UsageText: "hive andon resolve ID --resolution TEXT",
		Description: description(`Resolves an open andon: its line resumes unless another open andon stops it,
and its work order leaves quarantine (it stays blocked until its fix work order
and other dependencies complete). Resolving twice fails with
invalid_transition.`,
			"hive andon resolve AN-1 --resolution \"memory limit set to 2 GiB\""),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "resolution", Usage: "what was done, in `TEXT` (required)"},
			requestIDFlag(),
		},
		Action: func(c *cli.Context) error {
			if err := wantArgs(c, 1, 1); err != nil {
				return err
			}
			res := c.String("resolution")
			if strings.TrimSpace(res) == "" {
				return invalidf("--resolution is required")
			}
			cl, err := client(c)
			if err != nil {
				return err
			}
			an, err := cl.Andons().Resolve(c.Context, c.Args().First(), &api.ResolveAndonRequest{Resolution: res, RequestID: c.String("request-id")})
			if err != nil {
				return err
			}
			return output(c, an, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "Resolved %s: line %s resumes unless another open andon stops it; %s leaves quarantine\n",
					an.ID, an.LineName, an.WorkOrder)
				return err
			})
		},
	}
}
