package main

import "syscall"

// setDeathSignal has the kernel kill the command if the plugin dies.
func setDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
