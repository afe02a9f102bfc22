package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hive-swarm/hive/api"
)

func schedulerStatus(t *testing.T, addr string) *api.SchedulerStatus {
	t.Helper()
	var st api.SchedulerStatus
	decode(t, ok(t, addr, "scheduler", "show", "-json"), &st)
	if st.Config == nil || len(st.Digest) != 64 {
		t.Fatalf("scheduler show -json: %+v", st)
	}
	return &st
}

func TestSchedulerShowAndSet(t *testing.T) {
	addr := ownNode(t, "sched-set")
	out := ok(t, addr, "scheduler", "show")
	for _, want := range []string{"Strategy:", "priority", "reliability 40%, security 30%, cost 20%, features 10%",
		"stage   design", "IN FLIGHT", "Delegation rules: none", "research", "reviewer"} {
		if !strings.Contains(out, want) {
			t.Errorf("scheduler show lacks %q:\n%s", want, out)
		}
	}

	// Flags change what they name and keep the rest.
	var st api.SchedulerStatus
	decode(t, ok(t, addr, "scheduler", "set", "--strategy", "FIFO", "--stage-wip", "code=8,lint=2", "--bucket-wip", "security=10",
		"--mix", "reliability=50,security=30,cost=20", "--rule", `(?i)docs?\b,readme=writer`, "--rule", `CVE-\d+=scanner`, "-json"), &st)
	c := st.Config
	if c.Strategy != "fifo" || c.StageWIP["code"] != 8 || c.StageWIP["lint"] != 2 || c.StageWIP["test"] != 7 ||
		c.BucketWIP["security"] != 10 || c.BucketWIP["features"] != 10 || c.Mix["features"] != 0 || c.Mix["reliability"] != 50 ||
		len(c.Rules) != 2 || c.Rules[0].Pattern != `(?i)docs?\b,readme` || c.Rules[1].AgentType != "scanner" {
		t.Fatalf("after set: %+v", c)
	}
	out = ok(t, addr, "scheduler", "set", "--no-rules", "--mix", "off")
	if !strings.HasPrefix(out, "Scheduler config updated at index") || !strings.Contains(out, "Mix:") ||
		!strings.Contains(out, "off") || !strings.Contains(out, "Delegation rules: none") {
		t.Fatalf("set --no-rules:\n%s", out)
	}

	// --file replaces the whole policy: the output of show -json, edited,
	// through standard input; fields left out of a file take defaults.
	whole := ok(t, addr, "scheduler", "show", "-json")
	whole = strings.Replace(whole, `"strategy": "fifo"`, `"strategy": "sjf"`, 1)
	var fromStdin api.SchedulerStatus
	decode(t, okStdin(t, addr, whole, "scheduler", "set", "--file", "-", "-json"), &fromStdin)
	if fromStdin.Config.Strategy != "sjf" || fromStdin.Config.StageWIP["lint"] != 2 {
		t.Fatalf("set --file -: %+v", fromStdin.Config)
	}
	file := filepath.Join(t.TempDir(), "sched.json")
	if err := os.WriteFile(file, []byte(`{"strategy":"deadline","stage_wip":{"code":1}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var fromFile api.SchedulerStatus
	decode(t, ok(t, addr, "scheduler", "set", "--file", file, "-json"), &fromFile)
	if c := fromFile.Config; c.Strategy != "deadline" || len(c.StageWIP) != 1 || c.Mix["reliability"] != 40 || len(c.Pipelines) != 1 {
		t.Fatalf("set --file: %+v", c)
	}
}

func okStdin(t *testing.T, addr, stdin string, args ...string) string {
	t.Helper()
	r := hiveStdin(t, addr, stdin, args...)
	if r.err != nil {
		t.Fatalf("hive %s: %v\nstderr: %s", strings.Join(args, " "), r.err, r.stderr)
	}
	return r.stdout
}

func TestSchedulerBadInput(t *testing.T) {
	addr := ownNode(t, "sched-bad")
	before := schedulerStatus(t, addr)
	dir := t.TempDir()
	unknown := filepath.Join(dir, "unknown.json")
	if err := os.WriteFile(unknown, []byte(`{"strategy":"fifo","wip":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	badMix := filepath.Join(dir, "mix.json")
	if err := os.WriteFile(badMix, []byte(`{"mix":{"cost":99}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		code string
		args []string
	}{
		{"usage", []string{"scheduler", "set"}},
		{"usage", []string{"scheduler", "set", "--file", unknown, "--strategy", "fifo"}},
		{"usage", []string{"scheduler", "set", "--rule", "a=b", "--no-rules"}},
		{"usage", []string{"scheduler", "show", "extra"}},
		{"invalid_argument", []string{"scheduler", "set", "--strategy", "random"}},
		{"invalid_argument", []string{"scheduler", "set", "--stage-wip", "code=-1"}},
		{"invalid_argument", []string{"scheduler", "set", "--stage-wip", "code"}},
		{"invalid_argument", []string{"scheduler", "set", "--stage-wip", "my stage=1"}},
		{"invalid_argument", []string{"scheduler", "set", "--bucket-wip", "marketing=1"}},
		{"invalid_argument", []string{"scheduler", "set", "--mix", "reliability=50"}},
		{"invalid_argument", []string{"scheduler", "set", "--mix", "reliability=lots"}},
		{"invalid_argument", []string{"scheduler", "set", "--rule", "nope"}},
		{"invalid_argument", []string{"scheduler", "set", "--rule", "([a-=coder"}},
		{"invalid_argument", []string{"scheduler", "set", "--file", unknown}},
		{"invalid_argument", []string{"scheduler", "set", "--file", badMix}},
		{"invalid_argument", []string{"scheduler", "set", "--file", filepath.Join(dir, "missing.json")}},
		{"not_found", []string{"pipeline", "run", "nope", "--title", "x"}},
		{"invalid_argument", []string{"pipeline", "run", "default"}},
		{"invalid_argument", []string{"pipeline", "run", "default", "--title", "x", "--priority", "urgent"}},
		{"invalid_argument", []string{"pipeline", "run", "default", "--title", "x", "--payload", "{nope"}},
		{"usage", []string{"pipeline", "run", "--title", "x"}},
		{"usage", []string{"pipeline", "list", "extra"}},
		{"invalid_argument", []string{"kanban", "--limit", "-1"}},
		{"invalid_argument", []string{"kanban", "--limit", "5000"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			fails(t, addr, tc.code, tc.args...)
		})
	}
	after := schedulerStatus(t, addr)
	if after.Digest != before.Digest || workOrderCount(t, addr) != 0 {
		t.Fatalf("bad input changed the state: digest %s -> %s, %d work orders", before.Digest, after.Digest, workOrderCount(t, addr))
	}
}

func TestPipelineRunAndKanban(t *testing.T) {
	addr := ownNode(t, "sched-board")
	out := ok(t, addr, "pipeline", "list")
	for _, want := range []string{"PIPELINE", "default", "research", "implement", "coder", "4h"} {
		if !strings.Contains(out, want) {
			t.Errorf("pipeline list lacks %q:\n%s", want, out)
		}
	}
	out = ok(t, addr, "pipeline", "run", "default", "--title", "Add rate limiting", "--label", "security")
	if !strings.HasPrefix(out, "Started default run WO-1: 5 stages") || !strings.Contains(out, "bucket security") ||
		!strings.Contains(out, "Add rate limiting (research)") || !strings.Contains(out, "queued") {
		t.Fatalf("pipeline run:\n%s", out)
	}
	var run api.PipelineRun
	decode(t, ok(t, addr, "pipeline", "run", "default", "--title", "Second", "--priority", "high", "--deadline", "+72h", "-json"), &run)
	if run.Run == nil || run.Run.ID != "WO-7" || len(run.Stages) != 5 || run.Stages[0].State != "queued" ||
		run.Stages[4].State != "blocked" || run.Run.Priority != "high" || run.Run.Deadline == nil {
		t.Fatalf("pipeline run -json: %+v", run)
	}
	createWO(t, addr, "--title", "loose")

	// No node here offers the stages' agent types, so nothing is started
	// and the board is stable (the in-flight counts are tested in node).
	out = ok(t, addr, "kanban")
	for _, want := range []string{"STATE", "design 0/3", "code 0/5", "test 0/7", "review 0/-", "(none) 0/-",
		"queued", "WO-2", "Add rate limiting (research)", "Second (review)"} {
		if !strings.Contains(out, want) {
			t.Errorf("kanban lacks %q:\n%s", want, out)
		}
	}
	if out := ok(t, addr, "kanban", "--summary"); strings.Contains(out, "WO-2") || !strings.Contains(out, "design 0/3") {
		t.Errorf("kanban --summary:\n%s", out)
	}
	if out := ok(t, addr, "kanban", "--limit", "1"); !strings.Contains(out, "more not listed") {
		t.Errorf("kanban --limit 1 does not say what it left out:\n%s", out)
	}
	var b api.KanbanBoard
	decode(t, ok(t, addr, "board", "-json"), &b)
	if len(b.Columns) != 5 || b.Columns[0].Stage != "design" || b.Columns[0].Limit != 3 ||
		b.Columns[0].Counts["queued"] != 2 || b.Columns[0].Counts["blocked"] != 2 ||
		b.Columns[4].Stage != "" || b.Columns[4].Counts["blocked"] != 2 || b.Columns[4].Counts["queued"] != 1 {
		t.Fatalf("kanban -json: %+v", b.Columns)
	}

	// A new limit shows at once.
	ok(t, addr, "scheduler", "set", "--stage-wip", "design=1")
	if out := ok(t, addr, "kanban", "--summary"); !strings.Contains(out, "design 0/1") {
		t.Errorf("kanban after lowering the limit:\n%s", out)
	}

	out = ok(t, addr, "members")
	if !strings.Contains(out, "AGENTS") || !strings.Contains(out, "LOAD") || !strings.Contains(out, "sched-board") {
		t.Fatalf("members:\n%s", out)
	}
}
