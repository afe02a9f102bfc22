package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
)

// jsonOutput reports whether -json was given.
func jsonOutput(c *cli.Context) bool { return c.Bool(flagJSON) }

// printJSON writes v as indented JSON, the API's own encoding.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// output prints v as JSON with -json, else calls human.
func output(c *cli.Context, v any, human func(w io.Writer) error) error {
	if jsonOutput(c) {
		return printJSON(c.App.Writer, v)
	}
	return human(c.App.Writer)
}

// table is an aligned table with a header row.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, headers ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	t.row(anySlice(headers)...)
	return t
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// row adds one row; empty cells print as "-".
func (t *table) row(cells ...any) {
	parts := make([]string, len(cells))
	for i, c := range cells {
		s := fmt.Sprint(c)
		if s == "" {
			s = "-"
		}
		parts[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(s)
	}
	fmt.Fprintln(t.tw, strings.Join(parts, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// fields prints "Key: value" lines aligned on the values.
type fields struct {
	tw *tabwriter.Writer
}

func newFields(w io.Writer) *fields {
	return &fields{tw: tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)}
}

// add prints one line; an empty value prints as "-".
func (f *fields) add(key string, value any) {
	s := fmt.Sprint(value)
	if s == "" {
		s = "-"
	}
	fmt.Fprintf(f.tw, "%s:\t%s\n", key, s)
}

func (f *fields) flush() error { return f.tw.Flush() }

// now is the clock of relative times; tests may pin it.
var now = time.Now

// ago renders t relative to now: "5s ago", "in 3h", "-" for zero.
func ago(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now().Sub(t)
	if d < 0 {
		return "in " + shortDuration(-d)
	}
	return shortDuration(d) + " ago"
}

// agoPtr is ago for optional times.
func agoPtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return ago(*t)
}

// effortText renders an estimated effort in seconds ("30m"); "" for none.
func effortText(seconds int64) string {
	if seconds <= 0 {
		return ""
	}
	return shortDuration(time.Duration(seconds) * time.Second)
}

// shortDuration rounds d to its two largest units: 45s, 3m12s, 2h5m, 3d4h.
func shortDuration(d time.Duration) string {
	two := func(a int, ua string, b int, ub string) string {
		if b == 0 {
			return fmt.Sprintf("%d%s", a, ua)
		}
		return fmt.Sprintf("%d%s%d%s", a, ua, b, ub)
	}
	switch {
	case d < time.Second:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return two(int(d.Minutes()), "m", int(d.Seconds())%60, "s")
	case d < 48*time.Hour:
		return two(int(d.Hours()), "h", int(d.Minutes())%60, "m")
	}
	return two(int(d.Hours())/24, "d", int(d.Hours())%24, "h")
}

// stamp renders t as short RFC 3339 in UTC, with its relative time.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339) + " (" + ago(t) + ")"
}

// stampPtr is stamp for optional times.
func stampPtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return stamp(*t)
}

// truncate shortens s to n runes with an ellipsis.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// short returns the first n characters of a hash.
func short(hash string, n int) string {
	if len(hash) <= n {
		return hash
	}
	return hash[:n]
}

// list joins IDs with commas.
func list(ids []string) string { return strings.Join(ids, ",") }
