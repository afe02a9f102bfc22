package main

import (
	"fmt"
	"io"

	"github.com/hive-swarm/hive/api"
	"github.com/urfave/cli/v2"
)

func kanbanCommand() *cli.Command {
	return &cli.Command{
		Name:      "kanban",
		Aliases:   []string{"board"},
		Usage:     "show the board of unfinished work per stage",
		UsageText: "hive kanban [--limit N] [--summary]",
		Description: description(`Shows the unfinished work orders (blocked, queued, in flight) as a board: a
column per pipeline stage, headed "STAGE IN-FLIGHT/LIMIT" ("-" is unlimited),
with the number of work orders in each state; work orders without a stage are
in the column (none). Below it, the work orders themselves, at most --limit
per state of a column (the counts always cover all of them).`,
			"hive kanban",
			"hive kanban --summary",
			"hive kanban -json | jq '.columns[] | {stage, in_flight, limit}'"),
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "limit", Usage: "list at most `N` work orders per state of a column (default: the server's, 50)"},
			&cli.BoolFlag{Name: "summary", Usage: "print only the counts, not the work orders"},
		},
		Action: func(c *cli.Context) error {
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
			b, err := cl.Scheduler().Kanban(c.Context, &api.KanbanOptions{Limit: c.Int("limit")}, queryOpts(c))
			if err != nil {
				return err
			}
			return output(c, b, func(w io.Writer) error { return printKanban(w, b, !c.Bool("summary")) })
		},
	}
}

// columnName is how a column is headed: its stage, or (none).
func columnName(col *api.KanbanColumn) string {
	if col.Stage == "" {
		return api.NoStage
	}
	return col.Stage
}

// printKanban renders the board: a grid of counts (a row per state, a
// column per stage), then, with cards, a table of the work orders.
func printKanban(w io.Writer, b *api.KanbanBoard, cards bool) error {
	if len(b.Columns) == 0 {
		_, err := fmt.Fprintln(w, "The board is empty: no stages are configured and no work is unfinished.")
		return err
	}
	head := []string{"STATE"}
	for _, col := range b.Columns {
		head = append(head, fmt.Sprintf("%s %d/%s", columnName(col), col.InFlight, limitText(col.Limit)))
	}
	t := newTable(w, head...)
	for _, st := range b.States {
		cells := []any{st}
		for _, col := range b.Columns {
			cells = append(cells, col.Counts[st])
		}
		t.row(cells...)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if !cards {
		return nil
	}
	var rows [][]any
	more := 0
	for _, col := range b.Columns {
		for _, st := range b.States {
			for _, wo := range col.WorkOrders[st] {
				rows = append(rows, []any{columnName(col), st, wo.ID, wo.Priority, wo.Bucket, wo.Node, truncate(wo.Title, 50)})
			}
			more += col.Counts[st] - len(col.WorkOrders[st])
		}
	}
	if len(rows) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	t = newTable(w, "STAGE", "STATE", "ID", "PRIORITY", "BUCKET", "NODE", "TITLE")
	for _, r := range rows {
		t.row(r...)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if more > 0 {
		_, err := fmt.Fprintf(w, "(%d more not listed; raise --limit or use -json)\n", more)
		return err
	}
	return nil
}
