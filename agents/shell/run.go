package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hive-swarm/hive/plugins/sdk"
)

// waitDelay bounds how long the agent waits for the command's output
// after the command ended (a background child may hold its pipes) or was
// killed.
const waitDelay = 2 * time.Second

// Execute runs the task's command and returns its evidence.
func (a *shellAgent) Execute(ctx context.Context, task *sdk.Task, r sdk.Reporter) (*sdk.Result, error) {
	j, err := prepare(task)
	if err != nil {
		return nil, err
	}
	keep := j.cfg.KeepWorkdir
	defer func() {
		if !keep {
			j.cleanup()
		}
	}()

	argv := j.argv
	if j.cfg.Limits.any() {
		if argv, err = limitArgv(j.cfg.Limits, argv); err != nil {
			return nil, err
		}
	}
	runCtx, cancel := context.WithTimeout(ctx, j.timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, argv[0], argv[1:]...)
	cmd.Dir = j.workdir
	cmd.Env = j.env
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { return killGroup(cmd) }
	cmd.WaitDelay = waitDelay
	stdout := newCapture(r, sdk.StreamStdout, j.cfg.MaxOutputBytes, j.cfg.MaxLogLines)
	stderr := newCapture(r, sdk.StreamStderr, j.cfg.MaxOutputBytes, j.cfg.MaxLogLines)
	cmd.Stdout, cmd.Stderr = stdout, stderr

	r.Progress("run", 0, "running "+quoteArgv(j.argv))
	sdk.Logger(ctx).Debug("running", "argv", j.argv, "workdir", j.workdir, "timeout", j.timeout.String())
	start := time.Now()
	err = cmd.Run()
	elapsed := time.Since(start)
	_ = killGroup(cmd) // whatever the command left running in its group
	stdout.flush()
	stderr.flush()

	if ctx.Err() != nil { // cancelled, past the task's deadline, or shutting down
		return nil, ctx.Err()
	}
	timedOut := runCtx.Err() != nil
	exit := exitStatus(cmd, err, timedOut)

	res := &sdk.Result{
		ExitStatus: exit,
		Outputs: map[string]string{
			"command":     quoteArgv(j.argv),
			"exit_code":   strconv.Itoa(exit),
			"duration_ms": strconv.FormatInt(elapsed.Milliseconds(), 10),
			"timed_out":   strconv.FormatBool(timedOut),
			"workdir":     j.workdir,
		},
		Message: fmt.Sprintf("exit status %d after %s", exit, elapsed.Round(time.Millisecond)),
	}
	if cmd.ProcessState == nil && err != nil {
		res.Outputs["error"] = err.Error()
		res.Message = "could not start: " + err.Error()
	}
	stdout.record(res.Outputs, "stdout")
	stderr.record(res.Outputs, "stderr")
	if timedOut {
		res.Message = fmt.Sprintf("timed out after %s", j.timeout)
	}
	arts, missing, err := artifacts(j.workdir, j.outputs)
	if err != nil {
		return nil, err
	}
	res.Artifacts = arts
	if len(missing) > 0 {
		res.Outputs["missing_outputs"] = strings.Join(missing, ",")
	}
	if len(arts) > 0 && j.temp {
		keep = true // the artifacts' paths must stay good
	}
	r.Progress("done", 100, res.Message)
	return res, nil
}

// exitStatus is the command's exit status as a shell reports it: its exit
// code, 128+N when signal N killed it, 124 when it timed out (as
// timeout(1)), 127 when it was not found and 126 when it could not start.
func exitStatus(cmd *exec.Cmd, err error, timedOut bool) int {
	switch {
	case timedOut:
		return 124
	case cmd.ProcessState == nil && (errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist)):
		return 127
	case cmd.ProcessState == nil:
		return 126
	}
	if sig, ok := signaled(cmd.ProcessState); ok {
		return 128 + sig
	}
	return cmd.ProcessState.ExitCode()
}

// artifacts captures the files the output patterns match in dir, and
// lists the patterns that matched nothing.
func artifacts(dir string, patterns []string) ([]sdk.Artifact, []string, error) {
	var (
		arts    []sdk.Artifact
		missing []string
		seen    = map[string]bool{}
	)
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range patterns {
		matches, err := filepath.Glob(filepath.Join(dir, filepath.Clean(p)))
		if err != nil {
			return nil, nil, sdk.Invalidf("output %q: %v", p, err)
		}
		n := 0
		for _, m := range matches {
			name, err := filepath.Rel(dir, m)
			if err != nil || seen[name] {
				continue
			}
			// No escaping the working directory through links.
			real, err := filepath.EvalSymlinks(m)
			if err != nil || !strings.HasPrefix(real, root+string(filepath.Separator)) {
				continue
			}
			if fi, err := os.Stat(real); err != nil || !fi.Mode().IsRegular() {
				continue
			}
			a, err := sdk.FileArtifact(filepath.ToSlash(name), m)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			} else if err != nil {
				return nil, nil, err
			}
			seen[name] = true
			arts = append(arts, a)
			n++
		}
		if n == 0 {
			missing = append(missing, p)
		}
	}
	slices.SortFunc(arts, func(a, b sdk.Artifact) int { return strings.Compare(a.Name, b.Name) })
	return arts, missing, nil
}

// quoteArgv renders argv as a shell would read it back.
func quoteArgv(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && !strings.ContainsAny(a, " \t\n'\"\\$`|&;<>()*?[]{}~#!") {
			q[i] = a
		} else {
			q[i] = shellQuote(a)
		}
	}
	return strings.Join(q, " ")
}
