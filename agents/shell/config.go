package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/hive-swarm/hive/plugins/sdk"
)

// config is an agent type's configuration (the node's, sent with every
// task). Every string of Command, Workdir and Env is a text/template over
// templateData.
type config struct {
	// Command is the argv to run; default ["/bin/sh", "-c", "{{.Payload.command}}"].
	Command []string `json:"command"`
	// Workdir is the working directory; default a new directory under
	// WorkRoot per task.
	Workdir string `json:"workdir"`
	// WorkRoot holds the per-task directories; default $TMPDIR/hive-shell.
	WorkRoot string `json:"work_root"`
	// KeepWorkdir keeps a per-task directory after the task. It is kept
	// anyway when output files were captured, for their paths to stay good.
	KeepWorkdir bool `json:"keep_workdir"`
	// Timeout bounds the command (a Go duration); default 10m. A payload
	// may ask for less, never more.
	Timeout string `json:"timeout"`
	// Env is added to the command's environment.
	Env map[string]string `json:"env"`
	// InheritEnv passes the plugin's environment on (without the plugin
	// protocol's variables); otherwise the command gets PATH, LANG, HOME
	// and TMPDIR (the working directory), the HIVE_ variables and Env.
	InheritEnv bool `json:"inherit_env"`
	// Outputs are files (glob patterns relative to the working directory)
	// captured as artifacts with their digests. A payload may add more.
	Outputs []string `json:"outputs"`
	// MaxOutputBytes bounds the stdout and the stderr kept in the result's
	// outputs, each; default 64 KiB.
	MaxOutputBytes int `json:"max_output_bytes"`
	// MaxLogLines bounds the lines of stdout and of stderr streamed to the
	// node as log lines, each; default 1000.
	MaxLogLines int `json:"max_log_lines"`
	// Limits are the command's resource limits (setrlimit); zero is no
	// limit.
	Limits limits `json:"limits"`
}

// limits are resource limits of the command and its children.
type limits struct {
	CPUSeconds        uint64 `json:"cpu_seconds"`
	AddressSpaceBytes uint64 `json:"address_space_bytes"`
	FileSizeBytes     uint64 `json:"file_size_bytes"`
	OpenFiles         uint64 `json:"open_files"`
}

func (l limits) any() bool {
	return l.CPUSeconds != 0 || l.AddressSpaceBytes != 0 || l.FileSizeBytes != 0 || l.OpenFiles != 0
}

// payload are the fields of a work order's payload the agent reads
// itself; the whole payload is also the templates' .Payload.
type payload struct {
	Timeout string   `json:"timeout"`
	Outputs []string `json:"outputs"`
}

// Defaults.
const (
	defaultTimeout        = 10 * time.Minute
	defaultMaxOutputBytes = 64 << 10
	defaultMaxLogLines    = 1000
)

var defaultCommand = []string{"/bin/sh", "-c", "{{.Payload.command}}"}

// configSchema is the JSON Schema of config, reported by Describe.
const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "command": {"type": "array", "items": {"type": "string"}, "minItems": 1,
      "description": "argv; each element a text/template over .WorkOrderID .Attempt .Title .Description .AgentType .Labels .Payload .PayloadRaw .Workdir .Deadline, with the functions shellquote, json and join"},
    "workdir": {"type": "string"},
    "work_root": {"type": "string"},
    "keep_workdir": {"type": "boolean"},
    "timeout": {"type": "string", "description": "Go duration, e.g. 10m"},
    "env": {"type": "object", "additionalProperties": {"type": "string"}},
    "inherit_env": {"type": "boolean"},
    "outputs": {"type": "array", "items": {"type": "string"}},
    "max_output_bytes": {"type": "integer", "minimum": 0},
    "max_log_lines": {"type": "integer", "minimum": 0},
    "limits": {"type": "object", "additionalProperties": false, "properties": {
      "cpu_seconds": {"type": "integer", "minimum": 0},
      "address_space_bytes": {"type": "integer", "minimum": 0},
      "file_size_bytes": {"type": "integer", "minimum": 0},
      "open_files": {"type": "integer", "minimum": 0}
    }}
  }
}`

// job is a task made concrete: what to run, where, for how long.
type job struct {
	cfg     config
	argv    []string
	env     []string
	workdir string
	temp    bool // workdir was made for this task
	timeout time.Duration
	outputs []string
}

// templateData is what the templates see.
type templateData struct {
	WorkOrderID string
	Attempt     uint64
	Title       string
	Description string
	AgentType   string
	Labels      []string
	Payload     any    // the payload decoded from JSON
	PayloadRaw  string // the payload as sent
	Workdir     string
	Deadline    time.Time
}

var templateFuncs = template.FuncMap{
	"shellquote": shellQuote,
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"join": strings.Join,
}

// shellQuote quotes s as one word for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// prepare decodes the task's config and payload and renders the command;
// every error is the task's (Invalid). It creates a per-task working
// directory when none is configured; the caller removes j.workdir when
// j.temp.
func prepare(task *sdk.Task) (*job, error) {
	j := &job{}
	if err := sdk.DecodeConfig(task, &j.cfg); err != nil {
		return nil, err
	}
	var p payload
	if err := sdk.DecodePayload(task, &p); err != nil {
		return nil, err
	}
	data := templateData{
		WorkOrderID: task.WorkOrderID, Attempt: task.Attempt, Title: task.Title, Description: task.Description,
		AgentType: task.AgentType, Labels: task.Labels, PayloadRaw: string(task.Payload), Deadline: task.Deadline,
	}
	if len(task.Payload) > 0 {
		_ = json.Unmarshal(task.Payload, &data.Payload) // valid: DecodePayload succeeded
	}
	if data.Payload == nil {
		data.Payload = map[string]any{}
	}

	var err error
	if j.timeout, err = timeouts(j.cfg.Timeout, p.Timeout); err != nil {
		return nil, err
	}
	if j.cfg.MaxOutputBytes == 0 {
		j.cfg.MaxOutputBytes = defaultMaxOutputBytes
	}
	if j.cfg.MaxLogLines == 0 {
		j.cfg.MaxLogLines = defaultMaxLogLines
	}
	j.outputs = append(append([]string(nil), j.cfg.Outputs...), p.Outputs...)
	for _, o := range j.outputs {
		if filepath.IsAbs(o) || !filepath.IsLocal(filepath.Clean(o)) {
			return nil, sdk.Invalidf("output %q: want a path inside the working directory", o)
		}
	}

	if j.cfg.Workdir != "" {
		if j.workdir, err = render("workdir", j.cfg.Workdir, data); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(j.workdir, 0o755); err != nil {
			return nil, fmt.Errorf("working directory: %w", err)
		}
	} else {
		root := j.cfg.WorkRoot
		if root == "" {
			root = filepath.Join(os.TempDir(), "hive-shell")
		}
		if err := os.MkdirAll(root, 0o755); err != nil {
			return nil, fmt.Errorf("work root: %w", err)
		}
		if j.workdir, err = os.MkdirTemp(root, safeName(task.WorkOrderID)+"-"+fmt.Sprint(task.Attempt)+"-"); err != nil {
			return nil, fmt.Errorf("working directory: %w", err)
		}
		j.temp = true
	}
	data.Workdir = j.workdir

	command := j.cfg.Command
	if len(command) == 0 {
		command = defaultCommand
	}
	for i, c := range command {
		s, err := render(fmt.Sprintf("command[%d]", i), c, data)
		if err != nil {
			j.cleanup()
			return nil, err
		}
		j.argv = append(j.argv, s)
	}
	if strings.TrimSpace(j.argv[0]) == "" {
		j.cleanup()
		return nil, sdk.Invalidf("the command is empty")
	}
	if j.env, err = environment(&j.cfg, data); err != nil {
		j.cleanup()
		return nil, err
	}
	return j, nil
}

// cleanup removes a per-task working directory.
func (j *job) cleanup() {
	if j.temp {
		_ = os.RemoveAll(j.workdir)
	}
}

// timeouts returns the command's timeout: the config's, or the payload's
// when it is shorter.
func timeouts(cfg, asked string) (time.Duration, error) {
	t := defaultTimeout
	if cfg != "" {
		d, err := time.ParseDuration(cfg)
		if err != nil || d <= 0 {
			return 0, sdk.Invalidf("config timeout %q: want a positive Go duration", cfg)
		}
		t = d
	}
	if asked != "" {
		d, err := time.ParseDuration(asked)
		if err != nil || d <= 0 {
			return 0, sdk.Invalidf("payload timeout %q: want a positive Go duration", asked)
		}
		t = min(t, d)
	}
	return t, nil
}

// render executes one template; a missing payload field is an error.
func render(what, text string, data templateData) (string, error) {
	t, err := template.New(what).Funcs(templateFuncs).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", sdk.Invalidf("%s: %v", what, err)
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", sdk.Invalidf("%s: %v", what, err)
	}
	return b.String(), nil
}

// safeName keeps the letters, digits and dashes of s for a file name.
func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, s)
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// protocolEnv are prefixes of the plugin protocol's variables, never
// passed to commands.
var protocolEnv = []string{"HIVE_AGENT_PLUGIN=", "PLUGIN_", "HIVE_PLUGIN_"}

// environment builds the command's environment.
func environment(cfg *config, data templateData) ([]string, error) {
	var env []string
	if cfg.InheritEnv {
	next:
		for _, kv := range os.Environ() {
			for _, p := range protocolEnv {
				if strings.HasPrefix(kv, p) {
					continue next
				}
			}
			env = append(env, kv)
		}
	} else {
		path := os.Getenv("PATH")
		if path == "" {
			path = "/usr/local/bin:/usr/bin:/bin"
		}
		env = append(env, "PATH="+path, "LANG=C.UTF-8", "HOME="+data.Workdir, "TMPDIR="+data.Workdir)
	}
	env = append(env,
		"HIVE_WORK_ORDER_ID="+data.WorkOrderID,
		"HIVE_ATTEMPT="+fmt.Sprint(data.Attempt),
		"HIVE_AGENT_TYPE="+data.AgentType,
		"HIVE_WORKDIR="+data.Workdir)
	for k, v := range cfg.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, sdk.Invalidf("env: bad variable name %q", k)
		}
		s, err := render("env "+k, v, data)
		if err != nil {
			return nil, err
		}
		env = append(env, k+"="+s)
	}
	return env, nil
}
