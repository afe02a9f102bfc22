//go:build linux || darwin || freebsd

package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// Resource limits are set by a wrapper: this very binary, re-executed as
//
//	hive-agent-shell __hive-limit-exec cpu=N,as=N,fsize=N,nofile=N -- ARGV…
//
// which calls setrlimit(2) and then execve(2)s ARGV, so the limits hold
// for the command and everything it starts, from its first instruction.
const limitExecArg = "__hive-limit-exec"

// The limits by their names in the wrapper's argument.
var rlimits = map[string]int{
	"cpu":    syscall.RLIMIT_CPU,
	"as":     syscall.RLIMIT_AS,
	"fsize":  syscall.RLIMIT_FSIZE,
	"nofile": syscall.RLIMIT_NOFILE,
}

// limitArgv returns argv behind the wrapper that sets l.
func limitArgv(l limits, argv []string) ([]string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("resource limits: %w", err)
	}
	var spec []string
	for _, kv := range []struct {
		name string
		v    uint64
	}{{"cpu", l.CPUSeconds}, {"as", l.AddressSpaceBytes}, {"fsize", l.FileSizeBytes}, {"nofile", l.OpenFiles}} {
		if kv.v != 0 {
			spec = append(spec, kv.name+"="+strconv.FormatUint(kv.v, 10))
		}
	}
	return append([]string{self, limitExecArg, strings.Join(spec, ","), "--"}, argv...), nil
}

// limitExec is the wrapper's main: it returns an exit status only when it
// could not exec the command (126, or 127 when it was not found).
func limitExec(args []string) int {
	fail := func(status int, format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "hive-agent-shell: "+format+"\n", a...)
		return status
	}
	if len(args) < 3 || args[1] != "--" {
		return fail(126, "usage: %s LIMITS -- COMMAND…", limitExecArg)
	}
	for _, kv := range strings.Split(args[0], ",") {
		if kv == "" {
			continue
		}
		name, value, _ := strings.Cut(kv, "=")
		res, ok := rlimits[name]
		v, err := strconv.ParseUint(value, 10, 64)
		if !ok || err != nil {
			return fail(126, "bad limit %q", kv)
		}
		lim := syscall.Rlimit{Cur: v, Max: v}
		if name == "cpu" {
			lim.Max = v + 1 // SIGXCPU at the soft limit, SIGKILL a second later
		}
		if err := syscall.Setrlimit(res, &lim); err != nil {
			return fail(126, "setrlimit %s=%d: %v", name, v, err)
		}
	}
	argv := args[2:]
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return fail(127, "%v", err)
	}
	err = syscall.Exec(path, argv, os.Environ())
	return fail(126, "exec %s: %v", path, err)
}
