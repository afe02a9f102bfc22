//go:build !linux

package main

import "syscall"

// childSysProcAttr returns nil: the agents share the bench's process group.
func childSysProcAttr() *syscall.SysProcAttr { return nil }
