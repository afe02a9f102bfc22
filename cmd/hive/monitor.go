package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hive-swarm/hive/api"
	"github.com/urfave/cli/v2"
)

func monitorCommand() *cli.Command {
	return &cli.Command{
		Name:      "monitor",
		Usage:     "follow the swarm's event stream",
		UsageText: "hive monitor [--topic TOPIC]... [--workorder ID] [--index N | --after ID] [--count N]",
		Description: description(`Prints the node's events as they are committed: work order transitions,
receipts, members joining or failing, leader changes. Starts at the present,
or replays from a raft index (--index 1: from the beginning) or after an event
ID. A dropped connection is resumed after the last event printed, so nothing
is shown twice or skipped; a "gap" line says when a node no longer holds what
was asked for. One line per event (colored on a terminal); -json prints the
events as JSON Lines. Ends on Ctrl-C, or after --count events.`,
			"hive monitor",
			"hive monitor --topic workorder --topic leader",
			"hive monitor --index 1 --count 20",
			"hive monitor --workorder WO-7 -json"),
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "topic", Usage: "only `TOPIC`: workorder, receipt, member, leader (repeatable)"},
			&cli.StringFlag{Name: "workorder", Usage: "only the events of work order `ID`"},
			&cli.Uint64Flag{Name: "index", Usage: "replay from raft index `N` (1: the beginning)"},
			&cli.StringFlag{Name: "after", Usage: "resume after event `ID`"},
			&cli.IntFlag{Name: "count", Usage: "stop after `N` events (0: never)"},
		},
		Action: monitor,
	}
}

func monitor(c *cli.Context) error {
	if err := wantArgs(c, 0, 0); err != nil {
		return err
	}
	if c.IsSet("index") && c.IsSet("after") {
		return usagef("hive monitor: --index and --after cannot be combined")
	}
	if c.Int("count") < 0 {
		return invalidf("--count: want 0 or more, got %d", c.Int("count"))
	}
	cl, err := client(c)
	if err != nil {
		return err
	}
	opts := &api.EventStreamOptions{
		Topics:    c.StringSlice("topic"),
		WorkOrder: c.String("workorder"),
		Index:     c.Uint64("index"),
		After:     c.String("after"),
	}
	ctx, stop := signalContext(c)
	defer stop()
	p := newEventPrinter(c)
	show := p.progress(ctx, cl)
	defer p.finish()
	left := c.Int("count")
	err = cl.Events().Follow(ctx, opts, func(e *api.Event) error {
		if err := show(e); err != nil {
			return err
		}
		if left > 0 {
			if left--; left == 0 {
				return api.ErrStopFollowing
			}
		}
		return nil
	})
	if ctx.Err() != nil && c.Context.Err() == nil {
		return nil // interrupted: a normal end
	}
	return err
}

// signalContext is c's context, cancelled on SIGINT or SIGTERM.
func signalContext(c *cli.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(c.Context)
	sigs := make(chan os.Signal, 1)
	stopNotify := runtimeOf(c).notify(sigs)
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		stopNotify()
		cancel()
	}
}

// eventPrinter prints events as lines, colored on a terminal, or as JSON
// Lines with -json.
type eventPrinter struct {
	w     io.Writer
	json  *json.Encoder
	color bool
	view  *progressView // nil until progress is called
	stop  func()
}

func newEventPrinter(c *cli.Context) *eventPrinter {
	p := &eventPrinter{w: c.App.Writer, color: isTerminal(c.App.Writer)}
	if jsonOutput(c) {
		p.json = json.NewEncoder(c.App.Writer)
		p.json.SetEscapeHTML(false)
	}
	return p
}

// progress returns the function that prints an event and, unless the
// output is JSON, keeps the progress display of running work orders
// (see progressView) up to date; finish ends that display.
func (p *eventPrinter) progress(ctx context.Context, cl *api.Client) func(*api.Event) error {
	if p.json != nil {
		return p.print
	}
	p.view = newProgressView(p.w, p.color, func(ctx context.Context, id string) (*api.WorkOrder, error) {
		return cl.WorkOrders().Get(ctx, id, &api.QueryOptions{Stale: true})
	})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.view.run(rctx)
	}()
	p.stop = func() {
		cancel()
		<-done
	}
	return func(e *api.Event) error {
		return p.view.event(ctx, e, func() error { return p.print(e) })
	}
}

// finish stops the progress display, if any, and erases it.
func (p *eventPrinter) finish() {
	if p.stop != nil {
		p.stop()
		p.view.finish()
	}
}

func (p *eventPrinter) print(e *api.Event) error {
	if p.json != nil {
		return p.json.Encode(e)
	}
	_, err := fmt.Fprintln(p.w, formatEvent(e, p.color))
	return err
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	if t, ok := w.(terminalWriter); ok {
		return t.IsTerminal()
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// ANSI colors of event types on a terminal.
const (
	ansiReset  = "\x1b[0m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiBlue   = "\x1b[34m"
	ansiDim    = "\x1b[2m"
)

func eventColor(e *api.Event) string {
	switch {
	case e.Type == api.EventGap || e.Type == api.EventCutoff || e.Type == api.EventMemberFailed:
		return ansiYellow
	case e.To == "failed" || e.To == "cancelled":
		return ansiRed
	case e.To == "completed" || e.Type == api.EventMemberJoined:
		return ansiGreen
	case e.Topic == api.TopicLeader || e.Topic == api.TopicMember:
		return ansiBlue
	case e.Topic == api.TopicReceipt:
		return ansiDim
	}
	return ""
}

// formatEvent renders one event as a line: time, raft index, type, then
// what the type carries.
func formatEvent(e *api.Event, color bool) string {
	var b strings.Builder
	if !e.Time.IsZero() {
		b.WriteString(e.Time.UTC().Format("2006-01-02T15:04:05.000Z") + " ")
	}
	fmt.Fprintf(&b, "%-6d ", e.Index)
	typ := e.Type
	if c := eventColor(e); color && c != "" {
		typ = c + typ + ansiReset
	}
	b.WriteString(typ)
	add := func(format string, args ...any) { b.WriteString(" " + fmt.Sprintf(format, args...)) }
	switch e.Topic {
	case api.TopicWorkOrder, api.TopicAndon, api.TopicSLA:
		add("%s", orDash(e.WorkOrder))
		if e.From != "" || e.To != "" {
			add("%s -> %s", orDash(e.From), orDash(e.To))
		}
		if e.Attempt > 0 {
			add("attempt=%d", e.Attempt)
		}
		if e.Node != "" {
			add("node=%s", e.Node)
		}
		if e.Agent != "" {
			add("agent=%s", e.Agent)
		}
	case api.TopicReceipt: // a receipt of no work order
		add("#%d", e.Receipt)
		add("%s", e.Event)
		if len(e.Hash) >= 12 {
			add("hash=%s", e.Hash[:12])
		}
	case api.TopicMember:
		add("%s", e.Member)
		if e.Addr != "" {
			add("addr=%s", e.Addr)
		}
		add("seen-by=%s", e.Observer)
	case api.TopicLeader:
		leader := e.Leader
		if leader == "" {
			leader = "(none)"
		}
		add("%s", leader)
		add("seen-by=%s", e.Observer)
	case api.TopicStream:
		if e.Code != "" {
			add("%s:", e.Code)
		}
		add("%s", e.Reason)
		if e.Type == api.EventGap {
			add("(complete from index %d)", e.Index)
		}
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
