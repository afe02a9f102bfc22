package main

import "syscall"

// childSysProcAttr puts each agent in its own process group, so a Ctrl-C
// at the terminal reaches only the bench, which then stops the agents in
// order; and asks the kernel to SIGTERM an agent if the bench dies without
// stopping it.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
