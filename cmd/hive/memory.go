package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/hive-swarm/hive/api"
	"github.com/urfave/cli/v2"
)

func memoryCommand() *cli.Command {
	return &cli.Command{
		Name:      "memory",
		Aliases:   []string{"mem"},
		Usage:     "store, query and export the swarm memory",
		UsageText: "hive memory <command> [options] [arguments...]",
		Description: description(`The swarm memory is a replicated key/value store of JSON values, grouped in
namespaces, with optional expiry.`,
			"hive memory store team owner '{\"name\":\"ada\"}'",
			"hive memory get team owner",
			"hive memory query team --prefix own",
			"hive memory export -o memory.json && hive memory import memory.json"),
		Subcommands: []*cli.Command{
			{
				Name:      "store",
				Aliases:   []string{"put", "set"},
				Usage:     "store a value",
				UsageText: "hive memory store NAMESPACE KEY VALUE [--ttl DURATION]",
				Description: description(`Stores VALUE under NAMESPACE/KEY. VALUE is stored as JSON when it parses as
JSON, else as a JSON string; @FILE reads it from a file (@- from standard input).`,
					"hive memory store team owner ada",
					"hive memory store cache build-7 '{\"ok\":true}' --ttl 10m",
					"hive memory store config limits @limits.json"),
				Flags: []cli.Flag{
					&cli.DurationFlag{Name: "ttl", Usage: "expire the entry after `DURATION`"},
				},
				Action: memoryStore,
			},
			{
				Name:      "get",
				Usage:     "print a value",
				UsageText: "hive memory get NAMESPACE KEY",
				Description: description(`Prints the value stored under NAMESPACE/KEY: a string as it is, other JSON
indented. -json prints the whole entry. A missing key fails with not_found.`,
					"hive memory get team owner",
					"hive memory get team owner -json"),
				Action: memoryGet,
			},
			{
				Name:      "query",
				Aliases:   []string{"list", "ls"},
				Usage:     "list a namespace's entries",
				UsageText: "hive memory query NAMESPACE [--prefix PREFIX] [--pattern GLOB]",
				Description: description(`Lists the entries of NAMESPACE whose keys start with --prefix and match the
glob --pattern.`,
					"hive memory query team",
					"hive memory query cache --prefix build- --pattern '*-7'"),
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "prefix", Usage: "keys starting with `PREFIX`"},
					&cli.StringFlag{Name: "pattern", Usage: "keys matching the `GLOB`"},
				},
				Action: memoryQuery,
			},
			{
				Name:      "delete",
				Aliases:   []string{"rm", "del"},
				Usage:     "delete an entry",
				UsageText: "hive memory delete NAMESPACE KEY",
				Description: description(`Deletes the entry NAMESPACE/KEY.`,
					"hive memory delete team owner"),
				Action: memoryDelete,
			},
			{
				Name:      "export",
				Usage:     "export entries as JSON",
				UsageText: "hive memory export [NAMESPACE] [-o FILE]",
				Description: description(`Writes every entry (of NAMESPACE, or of all namespaces) as one JSON document
that "hive memory import" takes back.`,
					"hive memory export > memory.json",
					"hive memory export team -o team.json"),
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE` instead of standard output"},
				},
				Action: memoryExport,
			},
			{
				Name:      "import",
				Usage:     "import entries from an export",
				UsageText: "hive memory import FILE",
				Description: description(`Stores every entry of FILE (as "hive memory export" wrote it, or a bare JSON
array of entries) in one replicated write. FILE "-" reads standard input.`,
					"hive memory import memory.json",
					"hive memory export --address http://old:7070 | hive memory import -"),
				Action: memoryImport,
			},
		},
	}
}

// memoryValue reads the VALUE argument: JSON if it parses, else a JSON
// string; @FILE reads a file first.
func memoryValue(c *cli.Context, arg string) (json.RawMessage, error) {
	raw, err := readArgFile(c, arg)
	if err != nil {
		return nil, err
	}
	if t := bytes.TrimSpace(raw); len(t) > 0 && json.Valid(t) {
		return json.RawMessage(t), nil
	}
	b, err := json.Marshal(string(raw))
	if err != nil {
		return nil, invalidf("VALUE: %v", err)
	}
	return b, nil
}

func memoryStore(c *cli.Context) error {
	if err := wantArgs(c, 3, 3); err != nil {
		return err
	}
	if c.Duration("ttl") < 0 {
		return invalidf("--ttl: must not be negative")
	}
	args := c.Args().Slice()
	value, err := memoryValue(c, args[2])
	if err != nil {
		return err
	}
	cl, err := client(c)
	if err != nil {
		return err
	}
	e, err := cl.Memory().Put(c.Context, args[0], args[1], value, c.Duration("ttl"))
	if err != nil {
		return err
	}
	return output(c, e, func(w io.Writer) error {
		expiry := ""
		if e.ExpiresAt != nil {
			expiry = ", expires " + ago(*e.ExpiresAt)
		}
		_, err := fmt.Fprintf(w, "Stored %s/%s%s\n", e.Namespace, e.Key, expiry)
		return err
	})
}

func memoryGet(c *cli.Context) error {
	if err := wantArgs(c, 2, 2); err != nil {
		return err
	}
	cl, err := client(c)
	if err != nil {
		return err
	}
	e, err := cl.Memory().Get(c.Context, c.Args().Get(0), c.Args().Get(1), queryOpts(c))
	if err != nil {
		return err
	}
	return output(c, e, func(w io.Writer) error {
		_, err := fmt.Fprintln(w, valueText(e.Value, true))
		return err
	})
}

// valueText renders a stored value: a JSON string unquoted, other JSON
// indented (or compact for tables).
func valueText(v json.RawMessage, indent bool) string {
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		return s
	}
	var b bytes.Buffer
	if indent {
		if json.Indent(&b, v, "", "  ") == nil {
			return b.String()
		}
	} else if json.Compact(&b, v) == nil {
		return b.String()
	}
	return string(v)
}

func memoryQuery(c *cli.Context) error {
	if err := wantArgs(c, 1, 1); err != nil {
		return err
	}
	cl, err := client(c)
	if err != nil {
		return err
	}
	ml, err := cl.Memory().Query(c.Context, c.Args().First(), c.String("prefix"), c.String("pattern"), queryOpts(c))
	if err != nil {
		return err
	}
	return printMemoryList(c, ml)
}

func printMemoryList(c *cli.Context, ml *api.MemoryList) error {
	if ml.Entries == nil {
		ml.Entries = []*api.MemoryEntry{}
	}
	return output(c, ml, func(w io.Writer) error {
		if len(ml.Entries) == 0 {
			_, err := fmt.Fprintln(w, "No entries.")
			return err
		}
		t := newTable(w, "NAMESPACE", "KEY", "VALUE", "EXPIRES", "UPDATED")
		for _, e := range ml.Entries {
			t.row(e.Namespace, e.Key, truncate(valueText(e.Value, false), 60), agoPtr(e.ExpiresAt), ago(e.UpdatedAt))
		}
		return t.flush()
	})
}

func memoryDelete(c *cli.Context) error {
	if err := wantArgs(c, 2, 2); err != nil {
		return err
	}
	cl, err := client(c)
	if err != nil {
		return err
	}
	ns, key := c.Args().Get(0), c.Args().Get(1)
	if err := cl.Memory().Delete(c.Context, ns, key); err != nil {
		return err
	}
	return output(c, map[string]string{"namespace": ns, "key": key, "deleted": "true"}, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Deleted %s/%s\n", ns, key)
		return err
	})
}

func memoryExport(c *cli.Context) error {
	if err := wantArgs(c, 0, 1); err != nil {
		return err
	}
	cl, err := client(c)
	if err != nil {
		return err
	}
	ml, err := cl.Memory().Export(c.Context, c.Args().First(), queryOpts(c))
	if err != nil {
		return err
	}
	if ml.Entries == nil {
		ml.Entries = []*api.MemoryEntry{}
	}
	path := c.String("output")
	if path == "" || path == "-" {
		return printJSON(c.App.Writer, ml)
	}
	if err := writeFileAtomic(path, func(w io.Writer) error { return printJSON(w, ml) }); err != nil {
		return err
	}
	fmt.Fprintf(c.App.ErrWriter, "Exported %d entries to %s\n", len(ml.Entries), path)
	return nil
}

func memoryImport(c *cli.Context) error {
	if err := wantArgs(c, 1, 1); err != nil {
		return err
	}
	raw, err := readFile(c, c.Args().First())
	if err != nil {
		return err
	}
	var ml api.MemoryList
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '[' {
		err = json.Unmarshal(raw, &ml.Entries)
	} else {
		err = json.Unmarshal(raw, &ml)
	}
	if err != nil {
		return invalidf("%s: not a memory export: %v", c.Args().First(), err)
	}
	for i, e := range ml.Entries {
		if e == nil || e.Namespace == "" || e.Key == "" {
			return invalidf("%s: entry %d has no namespace or key", c.Args().First(), i+1)
		}
	}
	cl, err := client(c)
	if err != nil {
		return err
	}
	res, err := cl.Memory().Import(c.Context, ml.Entries)
	if err != nil {
		return err
	}
	return output(c, res, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Imported %d entries\n", res.Imported)
		return err
	})
}
