//go:build !linux

package plugins

import "syscall"

// sysProcAttr has no parent-death signal outside Linux: a plugin notices
// its host's death when its connection breaks.
func sysProcAttr() *syscall.SysProcAttr { return nil }
