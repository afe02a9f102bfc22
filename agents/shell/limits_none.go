//go:build !(linux || darwin || freebsd)

package main

import (
	"fmt"
	"runtime"
)

const limitExecArg = "__hive-limit-exec"

// limitArgv fails: resource limits need setrlimit.
func limitArgv(limits, []string) ([]string, error) {
	return nil, fmt.Errorf("resource limits are not supported on %s", runtime.GOOS)
}

func limitExec([]string) int { return 126 }
