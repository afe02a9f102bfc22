package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/hive-swarm/hive/api"
	"github.com/hive-swarm/hive/node"
	"github.com/urfave/cli/v2"
)

// commands are the top-level commands in the order --help lists them. A
// command group adds itself with one line here.
var commands = []func() *cli.Command{
	agentCommand,
	woCommand,
	receiptCommand,
	memoryCommand,
	schedulerCommand,
	pipelineCommand,
	kanbanCommand,
	andonCommand,
	membersCommand,
	statusCommand,
	monitorCommand,
	debugCommand,
	joinCommand,
	leaveCommand,
	benchCommand,
	pluginCommand,
}

// App is the hive command line: a cli.App whose Run accepts flags after
// arguments and reports a failure as one "Error: <message> (<code>)" line.
type App struct {
	*cli.App
}

// runtime is what commands need from their surroundings, kept in
// cli.App.Metadata so that tests can replace it.
type runtime struct {
	// notify delivers SIGINT and SIGTERM to ch until stop is called.
	notify func(ch chan<- os.Signal) (stop func())
	// leave makes the agent's node leave the swarm; tests replace it to
	// hold a leave open.
	leave func(ctx context.Context, n *node.Node) error
	// stopping tracks the agent's graceful stop, including one that a
	// second signal abandoned: the process exits without waiting for it,
	// as Consul's agent does, but a test that runs the agent in-process
	// waits for it.
	stopping *sync.WaitGroup
}

const metaRuntime = "hive.runtime"

func runtimeOf(c *cli.Context) *runtime {
	if rt, ok := c.App.Metadata[metaRuntime].(*runtime); ok {
		return rt
	}
	return defaultRuntime()
}

func defaultRuntime() *runtime {
	return &runtime{
		notify: func(ch chan<- os.Signal) func() {
			signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
			return func() { signal.Stop(ch) }
		},
		leave:    func(ctx context.Context, n *node.Node) error { return n.Leave(ctx) },
		stopping: &sync.WaitGroup{},
	}
}

// newApp builds the command line reading stdin and writing to stdout and
// stderr. Nothing in it calls os.Exit.
func newApp(stdin io.Reader, stdout, stderr io.Writer) *App {
	app := &cli.App{
		Name:      "hive",
		Usage:     "a fault-tolerant swarm that runs work orders",
		UsageText: `hive [global options] command [command options] [arguments...]`,
		Description: description(`Hive nodes replicate work orders, their dependencies, a swarm memory and a
tamper-evident receipt chain with Raft. "hive agent" runs a node; every other
command talks to a node's HTTP API, found through --address or HIVE_ADDR.
Global options may appear anywhere on the line.`,
			"hive agent -dev",
			"hive wo create --title \"Patch CVE-2026-1234\" --signal cve",
			"hive wo list --state queued",
			"HIVE_ADDR=http://10.0.0.5:7070 hive members -json",
			"hive receipt verify"),
		Flags:                  globalFlags(),
		Reader:                 stdin,
		Writer:                 stdout,
		ErrWriter:              stderr,
		HideVersion:            true,
		UseShortOptionHandling: false,
		Metadata:               map[string]any{metaRuntime: defaultRuntime()},
		ExitErrHandler:         func(*cli.Context, error) {}, // errors are returned, never os.Exit'ed
		OnUsageError:           onUsageError,
		Before:                 checkGlobals,
		Action:                 unknownCommand,
	}
	for _, cmd := range commands {
		app.Commands = append(app.Commands, cmd())
	}
	for _, cmd := range app.Commands {
		prepare(cmd)
	}
	return &App{App: app}
}

// prepare sets the CLI-wide behaviour on cmd and its subcommands.
func prepare(cmd *cli.Command) {
	cmd.OnUsageError = onUsageError
	if len(cmd.Subcommands) > 0 {
		if cmd.Action == nil {
			cmd.Action = unknownCommand
		}
		for _, sub := range cmd.Subcommands {
			prepare(sub)
		}
		return
	}
	if !strings.Contains(cmd.Description, "Global options") {
		cmd.Description = strings.TrimRight(cmd.Description, "\n") + "\n\n" + commonHelp
	}
}

// Run runs the command line args (args[0] is the program name). On
// failure it writes "Error: <message> (<code>)" to ErrWriter and returns
// the error; main turns that into exit status 1.
func (a *App) Run(args []string) error {
	err := a.App.Run(permuteArgs(a.App, args))
	if err != nil {
		fmt.Fprintln(a.ErrWriter, errorLine(err))
	}
	return err
}

// errorLine renders err for stderr with its stable code.
func errorLine(err error) string {
	if ae := api.AsError(err); ae != nil {
		return "Error: " + err.Error() // *api.Error already ends in "(code)"
	}
	var ue *url.Error
	if errors.As(err, &ue) && !errors.Is(err, context.Canceled) {
		return fmt.Sprintf("Error: cannot reach %s: %v (%s)", ue.URL, ue.Err, errorCode(err))
	}
	return fmt.Sprintf("Error: %s (%s)", err, errorCode(err))
}

// errorCode is the code scripts can match for errors that are not API
// answers.
func errorCode(err error) string {
	var (
		ce *cliError
		ue *usageError
		ne net.Error
		oe *net.OpError
	)
	switch {
	case errors.As(err, &ce):
		return ce.code
	case errors.As(err, &ue):
		return "usage"
	case errors.As(err, &oe), errors.As(err, &ne):
		return "unreachable"
	}
	return "error"
}

func onUsageError(c *cli.Context, err error, _ bool) error {
	name := commandPath(c)
	return usagef("%s: %v; see %s --help", name, err, name)
}

// unknownCommand is the action of the app and of every command group:
// help without arguments, an error for an unknown command.
func unknownCommand(c *cli.Context) error {
	if c.NArg() > 0 {
		name := commandPath(c)
		return usagef("%s: unknown command %q; run %q for the list", name, c.Args().First(), name+" --help")
	}
	return cli.ShowSubcommandHelp(c)
}

// commandPath is the full name of the command c runs, e.g. "hive wo show".
func commandPath(c *cli.Context) string {
	var names []string
	for _, l := range c.Lineage() {
		if l.Command != nil && l.Command.Name != "" {
			names = append([]string{l.Command.Name}, names...)
		}
	}
	if len(names) == 0 || names[0] != c.App.Name {
		names = append([]string{c.App.Name}, names...)
	}
	return strings.Join(names, " ")
}

// checkGlobals validates the global flags before any command runs.
func checkGlobals(c *cli.Context) error {
	if _, err := parseLevel(c.String(flagLogLevel)); err != nil {
		return err
	}
	return nil
}

// parseLevel maps --log-level to slog's levels ("trace" is below debug).
func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "trace":
		return slog.LevelDebug - 4, nil
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, invalidf("--log-level: %q is not one of trace, debug, info, warn, error", s)
}

// client builds the API client from the global flags.
func client(c *cli.Context) (*api.Client, error) {
	level, err := parseLevel(c.String(flagLogLevel))
	if err != nil {
		return nil, err
	}
	cfg := api.DefaultConfig()
	cfg.Address = c.String(flagAddress)
	cfg.Logger = slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: level}))
	cl, err := api.NewClient(cfg)
	if err != nil {
		return nil, invalidf("--address: %v", err)
	}
	return cl, nil
}

// queryOpts returns the read options from the global flags.
func queryOpts(c *cli.Context) *api.QueryOptions {
	return &api.QueryOptions{Stale: c.Bool(flagStale)}
}

// description joins a command's prose with its examples.
func description(text string, examples ...string) string {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(text))
	if len(examples) > 0 {
		b.WriteString("\n\nEXAMPLES:\n")
		for _, e := range examples {
			b.WriteString("  " + e + "\n")
		}
	}
	return b.String()
}
