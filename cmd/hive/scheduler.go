package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/hive-swarm/hive/api"
	"github.com/urfave/cli/v2"
)

func schedulerCommand() *cli.Command {
	return &cli.Command{
		Name:      "scheduler",
		Aliases:   []string{"sched"},
		Usage:     "show and change the scheduling policy",
		UsageText: `hive scheduler <command> [options]`,
		Description: description(`The scheduling policy is replicated with the rest of the state: the strategy
that orders the queue (priority, fifo, deadline, sjf, critical_path,
resource_aware, adaptive), WIP limits per stage and per bucket, the leveling
mix, the delegation rules and the pipeline templates.`,
			"hive scheduler show",
			"hive scheduler set --strategy deadline --stage-wip code=8",
			"hive scheduler set --file scheduler.json"),
		Subcommands: []*cli.Command{
			schedulerShowCommand(),
			schedulerSetCommand(),
		},
	}
}

func schedulerShowCommand() *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "show the policy in force and the work in flight against its limits",
		UsageText: "hive scheduler show",
		Description: description(`Shows the strategy, the WIP limits per stage and per bucket with the work
in flight (in_progress, review, testing) against each, the leveling mix, the
delegation rules and the pipeline templates. A limit of "-" is unlimited.
-json prints the configuration under "config" with its digest.`,
			"hive scheduler show",
			"hive scheduler show -json | jq .config > scheduler.json"),
		Action: func(c *cli.Context) error {
			if err := wantArgs(c, 0, 0); err != nil {
				return err
			}
			cl, err := client(c)
			if err != nil {
				return err
			}
			st, err := cl.Scheduler().Get(c.Context, queryOpts(c))
			if err != nil {
				return err
			}
			return output(c, st, func(w io.Writer) error { return printScheduler(w, st) })
		},
	}
}

// printScheduler renders a SchedulerStatus for people.
func printScheduler(w io.Writer, st *api.SchedulerStatus) error {
	cfg := st.Config
	if cfg == nil {
		cfg = &api.SchedulerConfig{}
	}
	f := newFields(w)
	f.add("Strategy", cfg.Strategy)
	f.add("Mix", mixText(cfg.Mix))
	f.add("Auto andon", autoAndonText(cfg.AutoAndon))
	f.add("Digest", short(st.Digest, 16))
	f.add("Index", st.Index)
	if err := f.flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	t := newTable(w, "WIP", "NAME", "IN FLIGHT", "LIMIT")
	for _, u := range st.StageWIP {
		t.row("stage", u.Name, u.InFlight, limitText(u.Limit))
	}
	for _, u := range st.BucketWIP {
		t.row("bucket", u.Name, u.InFlight, limitText(u.Limit))
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if len(cfg.Rules) == 0 {
		fmt.Fprintln(w, "Delegation rules: none")
	} else {
		t = newTable(w, "RULE", "PATTERN", "AGENT TYPE")
		for i, r := range cfg.Rules {
			t.row(i+1, r.Pattern, r.AgentType)
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	return printPipelines(w, cfg.Pipelines)
}

// limitText renders a WIP limit; 0 is unlimited.
func limitText(n int) string {
	if n == 0 {
		return "-"
	}
	return strconv.Itoa(n)
}

// mixText renders the leveling mix, largest share first.
func mixText(mix map[string]int) string {
	names := slices.Collect(maps.Keys(mix))
	slices.SortFunc(names, func(a, b string) int {
		if mix[a] != mix[b] {
			return mix[b] - mix[a]
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for _, n := range names {
		if mix[n] != 0 {
			parts = append(parts, fmt.Sprintf("%s %d%%", n, mix[n]))
		}
	}
	if len(parts) == 0 {
		return "off"
	}
	return strings.Join(parts, ", ")
}

func schedulerSetCommand() *cli.Command {
	return &cli.Command{
		Name:  "set",
		Usage: "change the policy: some settings, or all of it from a file",
		UsageText: `hive scheduler set [--strategy S] [--stage-wip STAGE=N]... [--bucket-wip BUCKET=N]...
                    [--mix BUCKET=PCT,...|off] [--rule PATTERN=TYPE]... [--no-rules]
                    [--auto-andon CLASS,...|off]
   hive scheduler set --file FILE`,
		Description: description(`With setting flags, reads the policy in force, changes what the flags name
and writes it back on condition that nobody changed it in between (a
concurrent change makes it read again and retry). --stage-wip and
--bucket-wip set one limit each (0 = unlimited) and keep the others. --mix
replaces the whole mix (percentages summing to 100, or "off"). --rule
replaces all delegation rules with the ones given, in order; a rule is
PATTERN=TYPE, split at the last "=", PATTERN in Go RE2 syntax.
--auto-andon replaces the failure classes on which the leader pulls the
andon cord by itself (test_failure, repeated_crash, sla_breach), or turns
automatic andon off.

With --file, replaces the whole policy with the JSON in FILE ("-" for standard
input): the "config" object that "hive scheduler show -json" prints, or the
whole output of it. Fields left out take their defaults.

Bad input is refused with invalid_argument and changes nothing.`,
			"hive scheduler set --strategy fifo",
			"hive scheduler set --stage-wip code=8 --stage-wip test=0 --bucket-wip security=10",
			"hive scheduler set --mix reliability=50,security=30,cost=20",
			"hive scheduler set --auto-andon test_failure,sla_breach",
			"hive scheduler set --rule '(?i)\\bdocs?\\b=writer' --rule 'CVE-\\d+=security-scanner'",
			"hive scheduler show -json | jq '.config.strategy=\"sjf\"' | hive scheduler set --file -"),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "strategy", Usage: "scheduling `STRATEGY`: priority, fifo, deadline, sjf, critical_path, resource_aware, adaptive"},
			&cli.StringSliceFlag{Name: "stage-wip", Usage: "`STAGE=N` WIP limit of a stage, 0 = unlimited (repeatable, or comma-separated)"},
			&cli.StringSliceFlag{Name: "bucket-wip", Usage: "`BUCKET=N` WIP limit of a bucket, 0 = unlimited (repeatable, or comma-separated)"},
			&cli.StringFlag{Name: "mix", Usage: "leveling `MIX`: BUCKET=PCT,... summing to 100, or off"},
			&cli.GenericFlag{Name: "rule", Value: &stringList{}, Usage: "delegation `PATTERN=TYPE` (repeatable; replaces all rules)"},
			&cli.BoolFlag{Name: "no-rules", Usage: "remove every delegation rule"},
			&cli.StringFlag{Name: "auto-andon", Usage: "failure `CLASSES` that pull the andon cord automatically: test_failure,repeated_crash,sla_breach, or off"},
			&cli.StringFlag{Name: "file", Usage: "replace the whole policy with the JSON in `FILE` (- for standard input)"},
		},
		Action: schedulerSet,
	}
}

func schedulerSet(c *cli.Context) error {
	if err := wantArgs(c, 0, 0); err != nil {
		return err
	}
	settings := []string{"strategy", "stage-wip", "bucket-wip", "mix", "rule", "no-rules", "auto-andon"}
	var given []string
	for _, s := range settings {
		if c.IsSet(s) {
			given = append(given, "--"+s)
		}
	}
	if c.IsSet("file") {
		if len(given) > 0 {
			return usagef("%s: give --file or setting flags (%s), not both", commandPath(c), strings.Join(given, " "))
		}
		return schedulerSetFile(c)
	}
	if len(given) == 0 {
		return usagef("%s: nothing to change; give --file or at least one of --%s", commandPath(c), strings.Join(settings, ", --"))
	}
	change, err := schedulerChange(c)
	if err != nil {
		return err
	}
	cl, err := client(c)
	if err != nil {
		return err
	}
	st, err := cl.Scheduler().Update(c.Context, change)
	if err != nil {
		return err
	}
	return printSchedulerSet(c, st)
}

// schedulerChange parses the setting flags into an edit of the config.
func schedulerChange(c *cli.Context) (func(*api.SchedulerConfig) error, error) {
	stageWIP, err := parseLimits("--stage-wip", c.StringSlice("stage-wip"))
	if err != nil {
		return nil, err
	}
	bucketWIP, err := parseLimits("--bucket-wip", c.StringSlice("bucket-wip"))
	if err != nil {
		return nil, err
	}
	var mix map[string]int
	if c.IsSet("mix") {
		if mix, err = parseMix(c.String("mix")); err != nil {
			return nil, err
		}
	}
	var rules []api.DelegationRule
	ruleArgs := c.Generic("rule").(*stringList).v
	if c.Bool("no-rules") && len(ruleArgs) > 0 {
		return nil, usagef("%s: give --rule or --no-rules, not both", commandPath(c))
	}
	for _, s := range ruleArgs {
		i := strings.LastIndexByte(s, '=')
		if i <= 0 || i == len(s)-1 {
			return nil, invalidf("--rule: %q is not PATTERN=TYPE", s)
		}
		rules = append(rules, api.DelegationRule{Pattern: s[:i], AgentType: s[i+1:]})
	}
	strategy, setStrategy := c.String("strategy"), c.IsSet("strategy")
	autoAndon, setAutoAndon := parseAutoAndon(c.String("auto-andon")), c.IsSet("auto-andon")
	noRules := c.Bool("no-rules")
	return func(cfg *api.SchedulerConfig) error {
		if setStrategy {
			cfg.Strategy = strategy
		}
		cfg.StageWIP = merge(cfg.StageWIP, stageWIP)
		cfg.BucketWIP = merge(cfg.BucketWIP, bucketWIP)
		if mix != nil {
			cfg.Mix = mix
		}
		switch {
		case noRules:
			cfg.Rules = []api.DelegationRule{}
		case rules != nil:
			cfg.Rules = rules
		}
		if setAutoAndon {
			cfg.AutoAndon = autoAndon
		}
		return nil
	}, nil
}

// merge sets the entries of set in m (allocating it when needed).
func merge(m, set map[string]int) map[string]int {
	if len(set) == 0 {
		return m
	}
	if m == nil {
		m = make(map[string]int, len(set))
	}
	maps.Copy(m, set)
	return m
}

// parseLimits parses NAME=N pairs with N a non-negative integer.
func parseLimits(flag string, pairs []string) (map[string]int, error) {
	kv, err := parseKV(flag, pairs)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(kv))
	for k, v := range kv {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return nil, invalidf("%s: %s=%q is not a limit (a whole number, 0 = unlimited)", flag, k, v)
		}
		out[strings.TrimSpace(k)] = n
	}
	return out, nil
}

// parseMix parses "bucket=pct,..." or "off" (an empty mix).
func parseMix(s string) (map[string]int, error) {
	if t := strings.TrimSpace(s); strings.EqualFold(t, "off") || strings.EqualFold(t, "none") {
		return map[string]int{}, nil
	}
	var pairs []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			pairs = append(pairs, p)
		}
	}
	if len(pairs) == 0 {
		return nil, invalidf("--mix: empty; give BUCKET=PCT,... or off")
	}
	kv, err := parseKV("--mix", pairs)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(kv))
	for k, v := range kv {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), "%"))
		if err != nil {
			return nil, invalidf("--mix: %s=%q is not a percentage", k, v)
		}
		out[strings.TrimSpace(k)] = n
	}
	return out, nil
}

// schedulerSetFile replaces the whole config with the JSON of --file.
func schedulerSetFile(c *cli.Context) error {
	raw, err := readFile(c, c.String("file"))
	if err != nil {
		return err
	}
	cfg, err := decodeSchedulerFile(raw)
	if err != nil {
		return err
	}
	cl, err := client(c)
	if err != nil {
		return err
	}
	st, err := cl.Scheduler().Set(c.Context, &api.SetSchedulerConfigRequest{SchedulerConfig: *cfg})
	if err != nil {
		return err
	}
	return printSchedulerSet(c, st)
}

// decodeSchedulerFile reads a config: a SchedulerConfig object, or the
// SchedulerStatus that "hive scheduler show -json" prints (its "config").
// Unknown fields are refused, so a misspelt one is not silently dropped.
func decodeSchedulerFile(raw []byte) (*api.SchedulerConfig, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, invalidf("--file: not a JSON object: %v", err)
	}
	if inner, ok := top["config"]; ok {
		raw = inner
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var cfg api.SchedulerConfig
	if err := dec.Decode(&cfg); err != nil {
		return nil, invalidf("--file: %v", err)
	}
	return &cfg, nil
}

func printSchedulerSet(c *cli.Context, st *api.SchedulerStatus) error {
	return output(c, st, func(w io.Writer) error {
		fmt.Fprintf(w, "Scheduler config updated at index %d (digest %s)\n\n", st.Index, short(st.Digest, 16))
		return printScheduler(w, st)
	})
}

// parseAutoAndon splits --auto-andon: comma-separated classes, or "off"
// (or nothing) for none. The node checks the class names.
func parseAutoAndon(s string) []string {
	out := []string{}
	if strings.EqualFold(strings.TrimSpace(s), "off") {
		return out
	}
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// autoAndonText renders the automatic andon classes; none is "off".
func autoAndonText(classes []string) string {
	if len(classes) == 0 {
		return "off"
	}
	return strings.Join(classes, ", ")
}
