package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hive-swarm/hive/api"
	"github.com/urfave/cli/v2"
)

func receiptCommand() *cli.Command {
	return &cli.Command{
		Name:      "receipt",
		Aliases:   []string{"receipts"},
		Usage:     "list, verify and export the receipt chain",
		UsageText: "hive receipt <command> [options] [arguments...]",
		Description: description(`Every state change is sealed into a receipt whose SHA-256 hash covers the
previous receipt's hash, so the chain is tamper-evident. Any node can verify
it; an exported chain can be verified without Hive.`,
			"hive receipt list --workorder WO-1",
			"hive receipt verify",
			"hive receipt export -o chain.jsonl"),
		Subcommands: []*cli.Command{
			receiptListCommand(),
			receiptShowCommand(),
			receiptVerifyCommand(),
			receiptSearchCommand(),
			receiptExportCommand(),
		},
	}
}

func receiptListCommand() *cli.Command {
	return &cli.Command{
		Name:      "list",
		Aliases:   []string{"ls"},
		Usage:     "list receipts",
		UsageText: "hive receipt list [--workorder ID] [--since TIME] [--until TIME] [--from SEQ] [--limit N]",
		Description: description(`Lists receipts in sequence order. Times are RFC 3339 or durations ago (1h).`,
			"hive receipt list --limit 20",
			"hive receipt list --workorder WO-1",
			"hive receipt list --since 1h -json"),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "workorder", Aliases: []string{"wo"}, Usage: "only receipts of work order `ID`"},
			&cli.StringFlag{Name: "since", Usage: "only receipts at or after `TIME` (RFC 3339, or 1h for an hour ago)"},
			&cli.StringFlag{Name: "until", Usage: "only receipts before `TIME`"},
			&cli.StringFlag{Name: "from", Usage: "start at sequence number `SEQ`"},
			&cli.IntFlag{Name: "limit", Usage: "at most `N` receipts"},
		},
		Action: func(c *cli.Context) error {
			if err := wantArgs(c, 0, 0); err != nil {
				return err
			}
			q, err := receiptQuery(c)
			if err != nil {
				return err
			}
			return receiptList(c, q)
		},
	}
}

func receiptSearchCommand() *cli.Command {
	return &cli.Command{
		Name:      "search",
		Usage:     "find receipts by hash prefix, work order or time",
		UsageText: "hive receipt search --hash PREFIX | --workorder ID | --since TIME [--until TIME] [--limit N]",
		Description: description(`Finds receipts by the hex prefix of their hash, by work order, or by time. At
least one of --hash, --workorder and --since is required.`,
			"hive receipt search --hash 3fa9",
			"hive receipt search --workorder WO-7 -json",
			"hive receipt search --since 2026-01-02T00:00:00Z --until 2026-01-03T00:00:00Z"),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "hash", Usage: "hex `PREFIX` of the receipt's hash"},
			&cli.StringFlag{Name: "workorder", Aliases: []string{"wo"}, Usage: "receipts of work order `ID`"},
			&cli.StringFlag{Name: "since", Usage: "receipts at or after `TIME`"},
			&cli.StringFlag{Name: "until", Usage: "receipts before `TIME`"},
			&cli.IntFlag{Name: "limit", Usage: "at most `N` receipts"},
		},
		Action: func(c *cli.Context) error {
			if err := wantArgs(c, 0, 0); err != nil {
				return err
			}
			if c.String("hash") == "" && c.String("workorder") == "" && c.String("since") == "" {
				return invalidf("give --hash, --workorder or --since")
			}
			q, err := receiptQuery(c)
			if err != nil {
				return err
			}
			q.Hash = c.String("hash")
			return receiptList(c, q)
		},
	}
}

// receiptQuery reads the filters shared by list and search.
func receiptQuery(c *cli.Context) (*api.ReceiptQuery, error) {
	q := &api.ReceiptQuery{WorkOrder: c.String("workorder"), Limit: c.Int("limit")}
	if q.Limit < 0 {
		return nil, invalidf("--limit: must not be negative")
	}
	t := now()
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		if s := c.String(f.name); s != "" {
			v, err := parseTime("--"+f.name, s, t, true)
			if err != nil {
				return nil, err
			}
			*f.dst = v
		}
	}
	if s := c.String("from"); s != "" {
		seq, err := parseSeq("--from", s)
		if err != nil {
			return nil, err
		}
		q.From = seq
	}
	return q, nil
}

func receiptList(c *cli.Context, q *api.ReceiptQuery) error {
	cl, err := client(c)
	if err != nil {
		return err
	}
	rl, err := cl.Receipts().List(c.Context, q, queryOpts(c))
	if err != nil {
		return err
	}
	if rl.Receipts == nil {
		rl.Receipts = []*api.Receipt{}
	}
	return output(c, rl, func(w io.Writer) error {
		if len(rl.Receipts) == 0 {
			_, err := fmt.Fprintln(w, "No receipts.")
			return err
		}
		t := newTable(w, "SEQ", "TIME", "WORK ORDER", "EVENT", "FROM", "TO", "ATTEMPT", "NODE", "HASH")
		for _, r := range rl.Receipts {
			t.row(r.Seq, ago(r.Time), r.WorkOrder, r.Event, r.From, r.To, r.Attempt, r.Node, short(r.Hash, 12))
		}
		return t.flush()
	})
}

func receiptShowCommand() *cli.Command {
	return &cli.Command{
		Name:      "show",
		Aliases:   []string{"get"},
		Usage:     "show one receipt",
		UsageText: "hive receipt show SEQ",
		Description: description(`Shows the receipt with sequence number SEQ, with its full hashes.`,
			"hive receipt show 1",
			"hive receipt show 42 -json"),
		Action: func(c *cli.Context) error {
			if err := wantArgs(c, 1, 1); err != nil {
				return err
			}
			seq, err := parseSeq("SEQ", c.Args().First())
			if err != nil {
				return err
			}
			cl, err := client(c)
			if err != nil {
				return err
			}
			r, err := cl.Receipts().Get(c.Context, seq, queryOpts(c))
			if err != nil {
				return err
			}
			return output(c, r, func(w io.Writer) error {
				f := newFields(w)
				f.add("Seq", r.Seq)
				f.add("Raft index", r.Index)
				f.add("Time", r.Time.UTC().Format(time.RFC3339Nano))
				f.add("Work order", r.WorkOrder)
				f.add("Event", r.Event)
				from := r.From
				if from == "" {
					from = "(new)"
				}
				f.add("Transition", from+" -> "+r.To)
				f.add("Attempt", r.Attempt)
				f.add("Node", r.Node)
				f.add("Agent", r.Agent)
				f.add("Evidence digest", r.EvidenceDigest)
				f.add("Previous hash", r.PrevHash)
				f.add("Hash", r.Hash)
				return f.flush()
			})
		},
	}
}

// errChainBroken is returned by receipt verify for a broken chain.
var errChainBroken = &cliError{code: "chain_broken", msg: "the receipt chain is broken"}

func receiptVerifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "verify the receipt chain",
		UsageText: "hive receipt verify [--from SEQ] [--to SEQ]",
		Description: description(`Recomputes every receipt's hash from SEQ --from to --to (default: the whole
chain) on the addressed node and checks the links. Prints the number checked
and the head hash; exits 1 with chain_broken when a link does not hold.`,
			"hive receipt verify",
			"hive receipt verify --from 100 --to 200",
			"hive --stale receipt verify -json   # this node's own copy"),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "from", Usage: "first sequence number `SEQ`"},
			&cli.StringFlag{Name: "to", Usage: "last sequence number `SEQ`"},
		},
		Action: receiptVerify,
	}
}

// seqRange reads --from and --to (0 = open).
func seqRange(c *cli.Context) (from, to uint64, err error) {
	if s := c.String("from"); s != "" {
		if from, err = parseSeq("--from", s); err != nil {
			return 0, 0, err
		}
	}
	if s := c.String("to"); s != "" {
		if to, err = parseSeq("--to", s); err != nil {
			return 0, 0, err
		}
	}
	if to > 0 && from > to {
		return 0, 0, invalidf("--from %d is after --to %d", from, to)
	}
	return from, to, nil
}

func receiptVerify(c *cli.Context) error {
	if err := wantArgs(c, 0, 0); err != nil {
		return err
	}
	from, to, err := seqRange(c)
	if err != nil {
		return err
	}
	cl, err := client(c)
	if err != nil {
		return err
	}
	rep, err := cl.Receipts().Verify(c.Context, from, to, queryOpts(c))
	if err != nil {
		return err
	}
	err = output(c, rep, func(w io.Writer) error {
		if rep.OK {
			_, err := fmt.Fprintf(w, "Chain OK: %d receipts checked (seq %d to %d), head %s\n", rep.Checked, rep.From, rep.To, rep.Head)
			return err
		}
		_, err := fmt.Fprintf(w, "Chain BROKEN at seq %d: %s (%d receipts checked before it)\n", rep.BrokenAt, rep.Problem, rep.Checked)
		return err
	})
	if err != nil {
		return err
	}
	if !rep.OK {
		return &cliError{code: errChainBroken.code, msg: fmt.Sprintf("%s at seq %d: %s", errChainBroken.msg, rep.BrokenAt, rep.Problem)}
	}
	return nil
}

func receiptExportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "export the receipt chain as JSON Lines",
		UsageText: "hive receipt export [--from SEQ] [--to SEQ] [-o FILE]",
		Description: description(`Streams receipts as JSON Lines, one receipt per line, to standard output or to
FILE (written whole or not at all). A third party can verify the file without
Hive.`,
			"hive receipt export > chain.jsonl",
			"hive receipt export --from 1 --to 1000 -o chain.jsonl"),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "from", Usage: "first sequence number `SEQ`"},
			&cli.StringFlag{Name: "to", Usage: "last sequence number `SEQ`"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE` instead of standard output"},
		},
		Action: receiptExport,
	}
}

func receiptExport(c *cli.Context) error {
	if err := wantArgs(c, 0, 0); err != nil {
		return err
	}
	from, to, err := seqRange(c)
	if err != nil {
		return err
	}
	cl, err := client(c)
	if err != nil {
		return err
	}
	path := c.String("output")
	if path == "" || path == "-" {
		_, err := cl.Receipts().Export(c.Context, from, to, c.App.Writer, queryOpts(c))
		return err
	}
	lines := &lineCounter{}
	err = writeFileAtomic(path, func(w io.Writer) error {
		_, err := cl.Receipts().Export(c.Context, from, to, io.MultiWriter(w, lines), queryOpts(c))
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.ErrWriter, "Exported %d receipts to %s\n", lines.n, path)
	return nil
}

// lineCounter counts newlines written to it.
type lineCounter struct{ n int }

func (l *lineCounter) Write(p []byte) (int, error) {
	l.n += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}

// writeFileAtomic writes path through a temporary file in the same
// directory, renamed into place only when write succeeded.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return &cliError{code: "io", msg: err.Error()}
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := write(f); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return &cliError{code: "io", msg: err.Error()}
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return &cliError{code: "io", msg: err.Error()}
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return &cliError{code: "io", msg: err.Error()}
	}
	return nil
}
