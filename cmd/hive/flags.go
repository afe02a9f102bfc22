package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// envPrefix is the prefix of every environment variable the CLI reads.
const envPrefix = "HIVE_"

// env names the environment variable of a flag: env("http-port") is
// HIVE_HTTP_PORT. Every flag that reads the environment gets its name here.
func env(name string) []string {
	return []string{envPrefix + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(name))}
}

// Flag categories in --help.
const (
	catClient  = "CLIENT"
	catNode    = "NODE"
	catCluster = "CLUSTER"
	catOutput  = "OUTPUT"
)

// Names of the global flags.
const (
	flagAddress  = "address"
	flagJSON     = "json"
	flagStale    = "stale"
	flagLogLevel = "log-level"
)

// globalFlags are accepted anywhere on the command line (they are moved
// in front of the command before parsing) and read the environment.
func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagAddress, Aliases: []string{"addr"}, Category: catClient, EnvVars: env("addr"),
			Value: "http://127.0.0.1:7070", Usage: "`URL` of any Hive node's HTTP API"},
		&cli.BoolFlag{Name: flagJSON, Category: catOutput, EnvVars: env("json"),
			Usage: "print the API's JSON (indented) instead of tables"},
		&cli.BoolFlag{Name: flagStale, Category: catClient, EnvVars: env("stale"),
			Usage: "read the addressed node's local state instead of a leader-linearizable read"},
		&cli.StringFlag{Name: flagLogLevel, Category: catOutput, EnvVars: env("log-level"), Value: "info",
			Usage: "log `LEVEL`: trace, debug, info, warn or error"},
	}
}

// commonHelp is appended to the description of every leaf command.
const commonHelp = `Global options, accepted anywhere on the line: --address URL (HIVE_ADDR),
-json, --stale, --log-level LEVEL. See hive --help.`

// usageError is a mistake on the command line; it prints as
// "Error: <message> (usage)".
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// invalidf is a bad value of an argument or flag, caught before anything
// was sent; it prints with the API's code invalid_argument.
func invalidf(format string, args ...any) error {
	return &cliError{code: "invalid_argument", msg: fmt.Sprintf(format, args...)}
}

// cliError is an error detected by the CLI with a stable code.
type cliError struct{ code, msg string }

func (e *cliError) Error() string { return e.msg }

// wantArgs checks the number of positional arguments: at least min and at
// most max (max < 0: no limit). Stray arguments are an error.
func wantArgs(c *cli.Context, min, max int) error {
	n := c.NArg()
	switch {
	case n < min:
		what := "argument"
		if min > 1 {
			what = "arguments"
		}
		return usagef("%s needs %d %s, got %d; usage: %s", commandPath(c), min, what, n, usageLine(c))
	case max >= 0 && n > max:
		return usagef("%s: unexpected argument %q; usage: %s", commandPath(c), c.Args().Get(max), usageLine(c))
	}
	return nil
}

func usageLine(c *cli.Context) string {
	u := c.Command.UsageText
	if i := strings.IndexByte(u, '\n'); i >= 0 {
		u = u[:i]
	}
	return strings.TrimSpace(u)
}

// parseSeq parses a receipt sequence number.
func parseSeq(what, s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, invalidf("%s: %q is not a receipt sequence number (1, 2, …)", what, s)
	}
	return n, nil
}

// parseTime reads an RFC 3339 time, or a duration relative to now:
// "+24h" is a day from now, "-1h" or "1h" an hour ago when past is true.
func parseTime(what, s string, now time.Time, past bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	signed := strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-")
	d, err := time.ParseDuration(strings.TrimPrefix(s, "+"))
	if err != nil {
		return time.Time{}, invalidf("%s: %q is neither an RFC 3339 time (2026-01-02T15:04:05Z) nor a duration (+24h, -1h)", what, s)
	}
	if past && !signed {
		d = -d
	}
	return now.Add(d), nil
}

// parseKV parses "key=value" pairs.
func parseKV(what string, pairs []string) (map[string]string, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(pairs))
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, invalidf("%s: %q is not key=value", what, p)
		}
		m[k] = v
	}
	return m, nil
}

// readArgFile returns s, or the contents of the file when s is "@path"
// ("@-" reads standard input).
func readArgFile(c *cli.Context, s string) ([]byte, error) {
	path, ok := strings.CutPrefix(s, "@")
	if !ok {
		return []byte(s), nil
	}
	return readFile(c, path)
}

// readFile reads path, or standard input for "-".
func readFile(c *cli.Context, path string) ([]byte, error) {
	if path == "-" {
		if c.App.Reader == nil {
			return nil, invalidf("no standard input")
		}
		return io.ReadAll(c.App.Reader)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, invalidf("%v", err)
	}
	return b, nil
}

// permuteArgs lets flags follow positional arguments, which urfave/cli/v2
// does not: "hive wo show WO-1 -json" becomes "hive -json wo show WO-1".
// Global flags move in front of the first command; the leaf command's
// flags move in front of its positional arguments. Everything after "--"
// stays positional.
func permuteArgs(app *cli.App, args []string) []string {
	if len(args) == 0 {
		return args
	}
	globals := flagArity(app.Flags)
	delete(globals, "h") // help belongs to the command it follows
	delete(globals, "help")
	var (
		head, path, local, pos []string
		cmds                   = app.Commands
		leaf                   map[string]bool // flags of the command reached so far
		inCommands             = true
		dashdash               bool
	)
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			dashdash = true
			break
		}
		if len(a) > 1 && a[0] == '-' {
			name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
			takes, isGlobal := globals[name]
			dst := &head
			if !isGlobal {
				takes = leaf[name]
				if path != nil {
					dst = &local
				}
			}
			*dst = append(*dst, a)
			if takes && !hasValue && i+1 < len(args) {
				i++
				*dst = append(*dst, args[i])
			}
			continue
		}
		if inCommands {
			if cmd := findCommand(cmds, a); cmd != nil {
				path = append(path, a)
				leaf = flagArity(cmd.Flags)
				cmds = cmd.Subcommands
				inCommands = len(cmds) > 0
				continue
			}
			inCommands = false
		}
		pos = append(pos, a)
	}
	out := append([]string{args[0]}, head...)
	out = append(out, path...)
	out = append(out, local...)
	if dashdash {
		out = append(out, "--")
	}
	return append(out, pos...)
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// flagArity maps every name of flags to whether it takes a value.
func flagArity(flags []cli.Flag) map[string]bool {
	m := map[string]bool{"h": false, "help": false}
	for _, f := range flags {
		takes := true
		if df, ok := f.(cli.DocGenerationFlag); ok {
			takes = df.TakesValue()
		}
		for _, n := range f.Names() {
			m[n] = takes
		}
	}
	return m
}
